// The jswarm dashboard: the cluster as one manager's store holds it, kept live by the
// server-sent events of /events (a snapshot, then deltas of what changed). No polling:
// the page changes only when the manager tells it something changed.
'use strict';

const ORDER = ['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running',
  'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'];
const RUNNING = ORDER.indexOf('running');

const state = { cluster: {}, nodes: new Map(), services: new Map(), tasks: new Map() };
const columns = new Map();   // node id (or '' for unassigned) -> {col, head, list}
const cards = new Map();     // task id -> card element
let openTask = null;

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// A task is on the board while it is meant to run or still runs (a stopping task shows until it stopped).
function shown(t) {
  return ORDER.indexOf(t.desired) <= RUNNING || ORDER.indexOf(t.state) <= RUNNING;
}

function taskName(t) {
  return t.slot > 0 ? `${t.service}.${t.slot}` : `${t.service} (global)`;
}

function sortKey(t) {
  return `${t.service}\u0000${String(t.slot).padStart(10, '0')}\u0000${t.id}`;
}

function hue(s) {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

function gib(bytes) {
  return bytes > 0 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : '';
}

// ---------------------------------------------------------------- nodes

function column(nodeId) {
  let c = columns.get(nodeId);
  if (c) return c;
  const col = el('div', 'node');
  const head = el('div', 'node-head');
  const list = el('div', 'tasks');
  col.append(head, list);
  if (nodeId === '') {
    col.classList.add('unassigned');
    col.dataset.nodeId = '';
    head.append(el('div', 'node-name', 'not on a node'), el('div', 'node-meta', 'tasks waiting for the scheduler'));
    $('board').prepend(col);
  } else {
    $('board').append(col);
  }
  c = { col, head, list };
  columns.set(nodeId, c);
  return c;
}

function renderNode(n) {
  const c = column(n.id);
  c.col.className = `node state-${n.state} availability-${n.availability}`;
  c.col.dataset.nodeId = n.id;
  c.col.dataset.name = n.name;
  c.col.dataset.state = n.state;
  c.col.dataset.availability = n.availability;
  c.head.replaceChildren();
  c.head.append(el('div', 'node-name', n.name));
  const badges = el('div', 'node-meta');
  badges.append(el('span', 'badge', n.role));
  if (n.id === state.cluster.leader) badges.append(el('span', 'badge leader', 'leader'));
  badges.append(el('span', `badge ${n.state}`, n.state));
  badges.append(el('span', `badge ${n.availability}`, n.availability));
  c.head.append(badges);
  const res = [n.cpus > 0 ? `${n.cpus} CPU` : '', gib(n.memory), n.addr].filter(Boolean).join(' · ');
  c.head.append(el('div', 'node-meta', res));
  if (n.message && n.state !== 'ready') c.head.append(el('div', 'node-meta', n.message));
  c.head.title = n.id;
}

function removeNode(id) {
  const c = columns.get(id);
  if (!c) return;
  // Its cards (if any are left) wait in the unassigned column until the store moves them.
  for (const card of [...c.list.children]) column('').list.append(card);
  c.col.remove();
  columns.delete(id);
}

// ---------------------------------------------------------------- tasks

function placeCard(card, t) {
  const list = column(t.node && state.nodes.has(t.node) ? t.node : '').list;
  if (card.parentElement === list) return;
  const key = card.dataset.key;
  let before = null;
  for (const other of list.children) {
    if (other.dataset.key > key) { before = other; break; }
  }
  list.insertBefore(card, before);
}

function renderTask(t) {
  let card = cards.get(t.id);
  if (!shown(t)) {
    if (card) { card.remove(); cards.delete(t.id); }
    return;
  }
  if (!card) {
    card = el('div', 'task');
    card.dataset.taskId = t.id;
    card.dataset.key = sortKey(t);
    card.style.borderLeftColor = `hsl(${hue(t.service)} 60% 45%)`;
    card.addEventListener('click', () => showTask(t.id));
    cards.set(t.id, card);
  }
  const stopping = ORDER.indexOf(t.desired) > RUNNING;
  card.className = `task state-${t.state}${stopping ? ' stopping' : ''}${t.health ? ' health-' + t.health : ''}`;
  card.dataset.service = t.service;
  card.dataset.state = t.state;
  card.dataset.node = t.node;
  card.replaceChildren(document.createTextNode(taskName(t)),
    el('small', '', t.state + (t.health ? ` (${t.health})` : '') + (stopping ? ` → ${t.desired}` : '')));
  card.title = t.err || t.message;
  placeCard(card, t);
}

function removeTask(id) {
  const card = cards.get(id);
  if (card) { card.remove(); cards.delete(id); }
}

// ---------------------------------------------------------------- services, pending, events, header

function renderServices() {
  const body = $('services').tBodies[0];
  body.replaceChildren();
  const all = [...state.services.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const s of all) {
    const tr = el('tr');
    tr.dataset.serviceId = s.id;
    tr.dataset.name = s.name;
    const name = el('td', 'name', s.name);
    name.style.borderLeft = `5px solid hsl(${hue(s.name)} 60% 45%)`;
    const replicas = el('td', `replicas ${s.running >= s.desired ? 'ok' : 'short'}`, `${s.running}/${s.desired}`);
    replicas.dataset.running = s.running;
    replicas.dataset.desired = s.desired;
    const image = el('td', 'image', s.image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]*/, '@$1…'));
    image.title = s.image;
    const update = el('td', 'update', s.update);
    if (s.updateMessage) update.append(el('div', 'update-message', s.updateMessage));
    tr.append(name, el('td', '', s.mode), image, replicas, update);
    body.append(tr);
  }
}

function renderPending() {
  const reasons = new Map();
  for (const t of state.tasks.values()) {
    if (t.state === 'pending' && t.desired === 'running' && t.err) {
      reasons.set(t.err, (reasons.get(t.err) || 0) + 1);
    }
  }
  const list = $('pending');
  list.replaceChildren();
  if (reasons.size === 0) list.append(el('li', 'none', 'no task is waiting for a node'));
  for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1])) {
    const li = el('li');
    li.append(el('span', 'count', String(n)), document.createTextNode(why));
    list.append(li);
  }
}

function addEvents(events) {
  const list = $('events');
  for (const e of events) {
    const li = el('li');
    const time = el('time', '', new Date(e.time).toLocaleTimeString());
    const a = e.attributes || {};
    const what = `${e.type} ${e.action} ${a.name || e.id.slice(0, 12)}` + (a.state ? ` ${a.state}` : '');
    li.append(time, document.createTextNode(what));
    list.prepend(li);
  }
  while (list.children.length > 40) list.lastChild.remove();
}

function renderHeader() {
  const c = state.cluster;
  const self = state.nodes.get(c.self);
  const leader = state.nodes.get(c.leader);
  $('cluster').textContent = `cluster ${(c.id || '').slice(0, 12)} · seen from ${self ? self.name : c.self}`
    + ` · leader ${leader ? leader.name : (c.leader ? c.leader.slice(0, 12) : 'none (election)')}`;
  let running = 0;
  for (const t of state.tasks.values()) if (t.state === 'running' && t.desired === 'running') running++;
  $('summary').textContent = `${state.nodes.size} nodes · ${state.services.size} services · ${running} tasks running`;
  $('summary').dataset.running = running;
}

// ---------------------------------------------------------------- the stream

function snapshot(d) {
  state.nodes.clear(); state.services.clear(); state.tasks.clear();
  columns.forEach((c) => c.col.remove()); columns.clear(); cards.clear();
  $('events').replaceChildren();
  if (d.manager === false) {
    $('banner').textContent = d.message;
    $('banner').hidden = false;
    renderServices(); renderPending();
    return;
  }
  $('banner').hidden = true;
  state.cluster = d.cluster;
  for (const n of d.nodes) state.nodes.set(n.id, n);
  for (const s of d.services) state.services.set(s.id, s);
  for (const t of d.tasks) state.tasks.set(t.id, t);
  column('');
  [...state.nodes.values()].sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'manager' ? -1 : 1))
    .forEach(renderNode);
  [...state.tasks.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1)).forEach(renderTask);
  renderServices(); renderPending(); addEvents(d.events || []); renderHeader();
}

function delta(d) {
  if (d.cluster) state.cluster = d.cluster;
  for (const n of d.nodes || []) { state.nodes.set(n.id, n); renderNode(n); }
  for (const s of d.services || []) state.services.set(s.id, s);
  for (const id of d.servicesRemoved || []) state.services.delete(id);
  for (const t of d.tasks || []) { state.tasks.set(t.id, t); renderTask(t); }
  for (const id of d.tasksRemoved || []) { state.tasks.delete(id); removeTask(id); }
  for (const id of d.nodesRemoved || []) { state.nodes.delete(id); removeNode(id); }
  if (d.nodes) {  // cards that waited for their node's column
    for (const card of [...column('').list.children]) {
      const t = state.tasks.get(card.dataset.taskId);
      if (t) placeCard(card, t);
    }
  }
  if (d.cluster) state.nodes.forEach(renderNode);
  if (d.services || d.servicesRemoved) renderServices();
  if (d.tasks || d.tasksRemoved) renderPending();
  if (d.events) addEvents(d.events);
  renderHeader();
  if (openTask && state.tasks.has(openTask)) showFacts(state.tasks.get(openTask));
}

function connect() {
  const conn = $('connection');
  const es = new EventSource('events');
  es.addEventListener('snapshot', (e) => snapshot(JSON.parse(e.data)));
  es.addEventListener('delta', (e) => delta(JSON.parse(e.data)));
  es.onopen = () => { conn.textContent = 'live'; conn.className = 'live'; };
  es.onerror = () => { conn.textContent = 'reconnecting'; conn.className = 'lost'; };
}

// ---------------------------------------------------------------- a task's details and logs

function showFacts(t) {
  const node = state.nodes.get(t.node);
  const facts = [['task', t.id], ['service', t.service], ['node', node ? node.name : (t.node || 'none yet')],
    ['state', t.state + (t.health ? ` (${t.health})` : '')], ['desired', t.desired], ['message', t.message], ['error', t.err]];
  const dl = $('task-facts');
  dl.replaceChildren();
  for (const [k, v] of facts) if (v) dl.append(el('dt', '', k), el('dd', '', v));
}

async function showTask(id) {
  const t = state.tasks.get(id);
  if (!t) return;
  openTask = id;
  $('task-title').textContent = taskName(t);
  showFacts(t);
  const pre = $('task-logs');
  pre.textContent = 'reading…';
  $('task-panel').hidden = false;
  try {
    const r = await fetch(`api/tasks/${encodeURIComponent(id)}/logs`);
    const body = await r.json();
    if (openTask !== id) return;
    pre.replaceChildren();
    if (!r.ok) { pre.textContent = body.message; return; }
    if (body.lines.length === 0) pre.textContent = '(no output)';
    for (const l of body.lines) {
      pre.append(el('span', l.stream, l.line + '\n'));
    }
  } catch (e) {
    if (openTask === id) pre.textContent = `cannot read the logs: ${e.message}`;
  }
}

$('task-close').addEventListener('click', () => { $('task-panel').hidden = true; openTask = null; });
connect();
