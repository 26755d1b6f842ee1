//! One HTTP/1.1 keep-alive connection, one request at a time: what a long-polling client needs
//! and no more. hyper's pooled client costs two task hops and a pool checkout per request,
//! which made the load generator, not the server, the limit of the `polling` scenario.

use crate::ws::Error;
use bytes::{Buf, Bytes, BytesMut};
use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most headers a response may have.
const MAX_HEADERS: usize = 32;

pub struct Conn {
    stream: TcpStream,
    host: String,
    read: BytesMut,
    write: Vec<u8>,
}

impl Conn {
    pub async fn open(addr: &str) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            host: addr.to_owned(),
            read: BytesMut::with_capacity(8 << 10),
            write: Vec::with_capacity(1 << 10),
        })
    }

    /// Sends a GET (no body) or a POST of `body` as text, and returns the response's body; a
    /// status other than 200 is an error.
    pub async fn request(&mut self, uri: &str, body: Option<&[u8]>) -> Result<Bytes, Error> {
        self.write.clear();
        let method = if body.is_some() { "POST" } else { "GET" };
        write!(
            self.write,
            "{method} {uri} HTTP/1.1\r\nHost: {}\r\n",
            self.host
        )?;
        if let Some(body) = body {
            write!(
                self.write,
                "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                body.len()
            )?;
        }
        self.write.extend_from_slice(b"\r\n");
        if let Some(body) = body {
            self.write.extend_from_slice(body);
        }
        self.stream.write_all(&self.write).await?;
        self.response(uri).await
    }

    async fn response(&mut self, uri: &str) -> Result<Bytes, Error> {
        let (status, head_len, framing) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(len) = response.parse(&self.read)? {
                break (response.code.unwrap_or(0), len, framing(response.headers)?);
            }
            self.fill().await?;
        };
        self.read.advance(head_len);
        let body = match framing {
            Framing::Length(len) => {
                while self.read.len() < len {
                    self.fill().await?;
                }
                self.read.split_to(len).freeze()
            }
            Framing::Chunked => self.chunked().await?,
        };
        if status != 200 {
            return Err(format!("{uri}: status {status}").into());
        }
        Ok(body)
    }

    /// A chunked body: `size-in-hex CRLF data CRLF`, ending with a chunk of size 0.
    async fn chunked(&mut self) -> Result<Bytes, Error> {
        let mut body = BytesMut::new();
        loop {
            let line = loop {
                if let Some(end) = self.read.windows(2).position(|w| w == b"\r\n") {
                    break end;
                }
                self.fill().await?;
            };
            let size = std::str::from_utf8(&self.read[..line])?;
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
            while self.read.len() < line + 2 + size + 2 {
                self.fill().await?;
            }
            self.read.advance(line + 2);
            body.extend_from_slice(&self.read.split_to(size));
            self.read.advance(2);
            if size == 0 {
                return Ok(body.freeze());
            }
        }
    }

    async fn fill(&mut self) -> Result<(), Error> {
        self.read.reserve(4 << 10);
        if self.stream.read_buf(&mut self.read).await? == 0 {
            return Err("the server closed the connection".into());
        }
        Ok(())
    }
}

enum Framing {
    Length(usize),
    Chunked,
}

fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, Error> {
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            return Ok(Framing::Length(
                std::str::from_utf8(header.value)?.trim().parse()?,
            ));
        }
        if header.name.eq_ignore_ascii_case("transfer-encoding")
            && header.value.eq_ignore_ascii_case(b"chunked")
        {
            return Ok(Framing::Chunked);
        }
    }
    Ok(Framing::Length(0))
}
