//! A `Deserializer` that delegates to another one (serde_json's) and answers bytes requests
//! met on a placeholder object with the attachment it names.
//!
//! Every visitor, seed and access handed to the inner deserializer is wrapped, so that each
//! nested value is deserialized through [`De`] again; otherwise a `Bytes` field one level down
//! would reach serde_json directly and see a map.

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde::Deserialize;
use std::fmt;

/// The deserializer wrapper.
pub(super) struct De<'a, D> {
    pub(super) inner: D,
    pub(super) attachments: &'a [Bytes],
}

/// Wraps whatever a visitor is handed: nested deserializers, sequences, maps and enums.
struct Visit<'a, V> {
    inner: V,
    attachments: &'a [Bytes],
}

/// A seed whose deserializer is wrapped.
struct Seed<'a, S> {
    inner: S,
    attachments: &'a [Bytes],
}

/// A sequence, map, enum or variant access whose values are deserialized through [`De`].
struct Access<'a, A> {
    inner: A,
    attachments: &'a [Bytes],
}

/// What a bytes request visits with: a placeholder object becomes the attachment it names.
struct BytesVisit<'a, V> {
    inner: V,
    attachments: &'a [Bytes],
    /// The request was `deserialize_byte_buf`, so the visitor would rather own the bytes.
    owned: bool,
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* Visit { inner: visitor, attachments: self.attachments })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for De<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    // serde_json's own bytes request refuses an object, so the placeholder has to be asked for
    // through `deserialize_any`; `BytesVisit` turns what that sees back into bytes.
    #[inline]
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(BytesVisit {
            inner: visitor,
            attachments: self.attachments,
            owned: false,
        })
    }

    #[inline]
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(BytesVisit {
            inner: visitor,
            attachments: self.attachments,
            owned: true,
        })
    }

    #[inline]
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        // Nothing below an ignored value is kept, so there is nothing to resolve.
        self.inner.deserialize_ignored_any(visitor)
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

/// The visit methods that carry no nested value, forwarded as they are.
macro_rules! forward_scalar_visits {
    () => {
        forward_visit! {
            visit_bool(bool);
            visit_i8(i8);
            visit_i16(i16);
            visit_i32(i32);
            visit_i64(i64);
            visit_i128(i128);
            visit_u8(u8);
            visit_u16(u16);
            visit_u32(u32);
            visit_u64(u64);
            visit_u128(u128);
            visit_f32(f32);
            visit_f64(f64);
            visit_char(char);
            visit_bytes(&[u8]);
            visit_borrowed_bytes(&'de [u8]);
            visit_byte_buf(Vec<u8>);
        }

        #[inline]
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.inner.expecting(f)
        }

        #[inline]
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            self.inner.visit_none()
        }

        #[inline]
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.inner.visit_unit()
        }

        #[inline]
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.inner.visit_some(De {
                inner: d,
                attachments: self.attachments,
            })
        }

        #[inline]
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.inner.visit_newtype_struct(De {
                inner: d,
                attachments: self.attachments,
            })
        }

        #[inline]
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            self.inner.visit_seq(Access {
                inner: seq,
                attachments: self.attachments,
            })
        }

        #[inline]
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            self.inner.visit_enum(Access {
                inner: data,
                attachments: self.attachments,
            })
        }
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Visit<'_, V> {
    type Value = V::Value;

    forward_scalar_visits!();

    forward_visit! {
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Access {
            inner: map,
            attachments: self.attachments,
        })
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for BytesVisit<'_, V> {
    type Value = V::Value;

    forward_scalar_visits!();

    // A JSON string asked for as bytes is its UTF-8, as serde_json's own bytes request gives.
    #[inline]
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.inner.visit_bytes(v.as_bytes())
    }

    #[inline]
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        self.inner.visit_borrowed_bytes(v.as_bytes())
    }

    #[inline]
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.inner.visit_byte_buf(v.into_bytes())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let num = placeholder_num(map)?;
        let attachment = usize::try_from(num)
            .ok()
            .and_then(|i| self.attachments.get(i))
            .ok_or_else(|| {
                de::Error::custom(format_args!(
                    "binary placeholder {num} out of range: the packet has {} attachment(s)",
                    self.attachments.len()
                ))
            })?;
        if self.owned {
            self.inner.visit_byte_buf(attachment.to_vec())
        } else {
            self.inner.visit_bytes(attachment)
        }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum PlaceholderKey {
    #[serde(rename = "_placeholder")]
    Placeholder,
    #[serde(rename = "num")]
    Num,
    #[serde(other)]
    Other,
}

/// The `num` of `{"_placeholder":true,"num":N}`, keys in any order. Other keys are ignored, as
/// Node's parser ignores them.
fn placeholder_num<'de, A: MapAccess<'de>>(mut map: A) -> Result<u64, A::Error> {
    let mut placeholder = None;
    let mut num = None;
    while let Some(key) = map.next_key()? {
        match key {
            PlaceholderKey::Placeholder if placeholder.is_some() => {
                return Err(de::Error::duplicate_field("_placeholder"));
            }
            PlaceholderKey::Placeholder => placeholder = Some(map.next_value::<bool>()?),
            PlaceholderKey::Num if num.is_some() => {
                return Err(de::Error::duplicate_field("num"));
            }
            PlaceholderKey::Num => num = Some(map.next_value::<u64>()?),
            PlaceholderKey::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    match placeholder {
        None => Err(de::Error::missing_field("_placeholder")),
        Some(false) => Err(de::Error::invalid_value(
            Unexpected::Bool(false),
            &"`true` in a binary placeholder",
        )),
        Some(true) => num.ok_or_else(|| de::Error::missing_field("num")),
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(De {
            inner: d,
            attachments: self.attachments,
        })
    }
}

impl<'a, A> Access<'a, A> {
    #[inline]
    fn seed<S>(&self, inner: S) -> Seed<'a, S> {
        Seed {
            inner,
            attachments: self.attachments,
        }
    }

    #[inline]
    fn visit<V>(&self, inner: V) -> Visit<'a, V> {
        Visit {
            inner,
            attachments: self.attachments,
        }
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_element_seed(seed)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_key_seed(seed)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.next_value_seed(seed)
    }

    #[inline]
    fn next_entry_seed<K: DeserializeSeed<'de>, V: DeserializeSeed<'de>>(
        &mut self,
        key: K,
        value: V,
    ) -> Result<Option<(K::Value, V::Value)>, A::Error> {
        let (key, value) = (self.seed(key), self.seed(value));
        self.inner.next_entry_seed(key, value)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, 'a, A: EnumAccess<'de>> EnumAccess<'de> for Access<'a, A> {
    type Error = A::Error;
    type Variant = Access<'a, A::Variant>;

    #[inline]
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let seed = self.seed(seed);
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            Access {
                inner: variant,
                attachments: self.attachments,
            },
        ))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.seed(seed);
        self.inner.newtype_variant_seed(seed)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.visit(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.visit(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}
