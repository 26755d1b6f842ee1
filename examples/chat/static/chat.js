// The chat page: one socket, the rooms this page has joined, and the one on screen.
// Every request to the server is an acked emit whose answer holds a result or { error }.
"use strict";

const MAX_TEXT = 2000; // the server's limit too; checked here so a huge paste never leaves the page
const TYPING_EVERY_MS = 2000; // how often "still typing" goes out while keys are pressed
const TYPING_SHOWN_MS = 4000; // how long a typing mark lasts without news

const params = new URLSearchParams(location.search);
const transport = params.get("transport"); // "polling" or "websocket" forces that transport
const socket = io({ transports: transport ? [transport] : ["polling", "websocket"] });

const state = {
  name: null,
  rooms: [], // every room of the server
  joined: new Map(), // room -> { messages, members, unread }
  current: null,
  typers: new Map(), // room -> Map(name -> timer)
};
window.chat = { socket, state }; // for the browser test and the curious

const $ = (id) => document.getElementById(id);

// --- talking to the server -------------------------------------------------------------

async function request(event, payload) {
  let answer;
  try {
    answer = await socket.timeout(5000).emitWithAck(event, payload);
  } catch {
    throw new Error("The server did not answer; try again.");
  }
  if (answer && answer.error) throw new Error(answer.error);
  return answer;
}

function showError(message) {
  $("error").textContent = message;
}

async function login(name) {
  const answer = await request("login", name);
  state.name = answer.name;
  state.rooms = answer.rooms;
  $("me").textContent = answer.name;
}

/** Joins `room` (creating it with `create`) and shows it. */
async function enter(room, create = false) {
  // The room exists on the page before the request, so that a presence list that arrives
  // together with the answer has somewhere to go.
  const fresh = !state.joined.has(room);
  const entry = roomState(room);
  try {
    const { history } = await request(create ? "create" : "join", room);
    merge(entry, history);
    show(room);
    showError("");
  } catch (error) {
    if (fresh) state.joined.delete(room);
    showError(error.message);
    render();
  }
}

async function leave(room) {
  try {
    await request("leave", room);
  } catch (error) {
    return showError(error.message);
  }
  state.joined.delete(room);
  show(state.joined.keys().next().value ?? null);
}

// After a reconnect that the server did not recover (it was away too long, the server restarted,
// or a cluster that cannot recover), the server knows nothing of this page: log in again and
// rejoin every room ("create", so that a room made by a user comes back after a server
// restart). A recovered connection is still logged in and in its rooms, and the messages it
// missed arrive as events, before "connect".
async function rejoin() {
  try {
    await login(state.name);
    for (const [room, entry] of state.joined) {
      const { history } = await request("create", room);
      merge(entry, history);
    }
    render();
  } catch (error) {
    showError(error.message);
  }
}

async function send(text) {
  const room = state.current;
  const length = [...text.trim()].length;
  if (!room || length === 0) return;
  if (length > MAX_TEXT) {
    return showError(`That message has ${length} characters; the limit is ${MAX_TEXT}.`);
  }
  $("text").value = "";
  stopTyping();
  const mine = { id: null, room, from: state.name, text: text.trim(), time: Date.now(), mine: true, state: "pending" };
  roomState(room).messages.push(mine);
  render();
  try {
    Object.assign(mine, await request("message", { room, text }), { state: "delivered" });
    showError("");
  } catch (error) {
    mine.state = "failed";
    showError(error.message);
  }
  render();
}

// --- typing ---------------------------------------------------------------------------

let typingRoom = null;
let typingSentAt = 0;
let typingTimer = null;

function typed() {
  if (!state.current) return;
  if (typingRoom !== state.current) stopTyping();
  const now = Date.now();
  if (now - typingSentAt > TYPING_EVERY_MS) {
    socket.volatile.emit("typing", { room: state.current, typing: true });
    typingRoom = state.current;
    typingSentAt = now;
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_EVERY_MS + 1000);
}

function stopTyping() {
  clearTimeout(typingTimer);
  if (typingRoom) socket.volatile.emit("typing", { room: typingRoom, typing: false });
  typingRoom = null;
  typingSentAt = 0;
}

function someoneTyping({ room, name, typing }) {
  const typers = state.typers.get(room) ?? new Map();
  state.typers.set(room, typers);
  clearTimeout(typers.get(name));
  if (typing) {
    typers.set(name, setTimeout(() => { typers.delete(name); render(); }, TYPING_SHOWN_MS));
  } else {
    typers.delete(name);
  }
  render();
}

// --- what the page holds ---------------------------------------------------------------

function roomState(room) {
  if (!state.joined.has(room)) state.joined.set(room, { messages: [], members: [], unread: 0 });
  return state.joined.get(room);
}

/** Adds the messages of `history` this page does not show yet, in time order. */
function merge(entry, history) {
  const known = new Set(entry.messages.map((m) => m.id));
  for (const message of history) {
    if (!known.has(message.id)) entry.messages.push(message);
  }
  entry.messages.sort((a, b) => a.time - b.time);
}

function show(room) {
  state.current = room;
  if (room) roomState(room).unread = 0;
  render();
  if (room) $("text").focus();
}

// --- drawing ---------------------------------------------------------------------------

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // never innerHTML: names and texts are anyone's
  return node;
}

function messageItem(message) {
  const mine = message.mine || message.from === state.name;
  const item = element("li", mine ? "message mine" : "message");
  item.dataset.state = mine ? message.state ?? "delivered" : "received";
  const time = new Date(message.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  item.append(element("span", "from", message.from), element("time", "", time));
  if (mine) {
    const marks = { pending: "…", delivered: "✓ delivered", failed: "✗ not sent" };
    item.append(element("span", "mark", marks[item.dataset.state]));
  }
  item.append(element("span", "text", message.text));
  return item;
}

function render() {
  const names = [...new Set([...state.rooms, ...state.joined.keys()])].sort();
  $("rooms").replaceChildren(
    ...names.map((room) => {
      const entry = state.joined.get(room);
      const item = element("li");
      item.dataset.room = room;
      item.classList.toggle("joined", !!entry);
      item.classList.toggle("current", room === state.current);
      const button = element("button", "", `# ${room}`);
      if (entry?.unread) button.append(element("span", "unread", String(entry.unread)));
      button.onclick = () => (entry ? show(room) : enter(room));
      item.append(button);
      return item;
    }),
  );

  const entry = state.current && state.joined.get(state.current);
  $("room-title").textContent = entry ? `# ${state.current}` : "Pick a room";
  $("leave").hidden = !entry;
  $("text").disabled = $("send").disabled = !entry;
  const list = $("messages");
  list.replaceChildren(...(entry ? entry.messages.map(messageItem) : []));
  list.scrollTop = list.scrollHeight;
  $("members").replaceChildren(...(entry ? entry.members.map((name) => element("li", "", name)) : []));
  const typers = [...(state.typers.get(state.current)?.keys() ?? [])].filter((n) => n !== state.name);
  $("typing").textContent = typers.length
    ? `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…`
    : "";
}

function showStatus() {
  const status = $("status");
  const name = socket.connected ? socket.io.engine.transport.name : null;
  status.textContent = name ? `connected · ${name}` : "reconnecting…";
  status.className = `status ${name ? "online" : "offline"}`;
  if (name) status.dataset.transport = name;
  else delete status.dataset.transport;
}

// --- events ----------------------------------------------------------------------------

socket.on("connect", () => {
  showStatus();
  socket.io.engine.once("upgrade", showStatus);
  if (state.name && !socket.recovered) rejoin();
});
socket.on("disconnect", (reason) => {
  showStatus();
  // The chat's server never sends a socket away; an operator does, from the admin UI. The
  // client does not come back by itself then, so the page asks, as after any other drop.
  if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
});
socket.on("rooms", (rooms) => {
  state.rooms = rooms;
  render();
});
socket.on("members", ({ room, members }) => {
  const entry = state.joined.get(room);
  if (!entry) return;
  entry.members = members;
  render();
});
socket.on("message", (message) => {
  const entry = state.joined.get(message.room);
  if (!entry) return;
  merge(entry, [message]);
  const typers = state.typers.get(message.room);
  clearTimeout(typers?.get(message.from));
  typers?.delete(message.from);
  if (message.room !== state.current) entry.unread++;
  render();
});
socket.on("typing", someoneTyping);

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await login($("nick").value);
  } catch (error) {
    $("login-error").textContent = error.message;
    return;
  }
  $("login-error").textContent = "";
  $("login-dialog").close();
  await enter(params.get("room") || "general");
});
// The dialog stays until a nickname is accepted.
$("login-dialog").addEventListener("cancel", (event) => event.preventDefault());

$("create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const room = $("new-room").value.trim();
  $("new-room").value = "";
  enter(room, true);
});
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  send($("text").value);
});
$("text").addEventListener("input", typed);
$("leave").addEventListener("click", () => leave(state.current));

// A page that goes away for good says so, rather than leave its user shown as present until
// the server gives up on its session; a page that merely lost its network keeps it.
addEventListener("pagehide", () => socket.disconnect());

showStatus();
render();
$("login-dialog").showModal();
