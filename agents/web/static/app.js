// The zerogo web board. Each tab keeps its own game (its id in sessionStorage).
"use strict";

const $ = (id) => document.getElementById(id);
let config = null;
let game = null;        // the last view of this tab's game
let busy = false;

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}
window.addEventListener("error", (e) => showError("page error: " + e.message));
window.addEventListener("unhandledrejection", (e) => showError("page error: " + e.reason));

class Refused extends Error {}   // a 4xx: the server said no, in one sentence

async function api(method, url, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    showError("the server cannot be reached: " + e);
    throw e;
  }
  const data = await response.json().catch(() => ({}));
  if (response.status >= 500) {
    showError(`server error ${response.status}: ${data.detail || response.statusText}`);
    throw new Error("server error");
  }
  if (!response.ok) throw new Refused(data.detail || response.statusText);
  return data;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" })[c]);
}

// ---------------------------------------------------------------------------
// Play

function opponentChoices(envId) {
  const entry = config.games.find((g) => g.env === envId);
  const list = $("opponent-list");
  list.innerHTML = "";
  for (const name of entry ? entry.opponents : []) {
    const option = document.createElement("option");
    option.value = name;
    list.appendChild(option);
  }
  $("opponent").value = entry && entry.opponents.length ? entry.opponents[0] : "random";
}

function renderAnalysis(view) {
  const a = view.analysis;
  if (!a) {
    $("analysis").innerHTML = '<p class="muted">After the agent moves, its value estimate ' +
      "and search visits appear here and on the board.</p>";
    return;
  }
  const whose = a.for === "agent" ? "the agent" : "you (the agent's view)";
  let value = "no value estimate";
  if (a.value !== null) {
    const pct = Math.round(50 * (a.value + 1));
    value = `value ${a.value >= 0 ? "+" : ""}${a.value.toFixed(2)} for ${whose} ` +
      `(about ${pct}% to win)`;
  }
  let rows = "";
  for (const t of a.top) {
    const pct = (100 * t.share).toFixed(1);
    rows += `<tr><td>${escapeHtml(t.move)}</td><td>${pct}%</td>` +
      `<td><span class="bar" style="width:${Math.round(120 * t.share)}px"></span></td></tr>`;
  }
  $("analysis").innerHTML = `<p id="analysis-value">${escapeHtml(value)}; plays ` +
    `<b>${escapeHtml(a.move)}</b> (${a.seconds.toFixed(2)} s)</p>` +
    `<table class="top" id="top-moves"><tr><th>move</th><th>visits</th><th></th></tr>` +
    `${rows}</table>`;
}

function render(view) {
  game = view;
  sessionStorage.setItem("zerogo-game", view.id);
  const board = $("board");
  board.innerHTML = view.svg;
  board.dataset.env = view.env;
  for (const cell of board.querySelectorAll(".cell")) {
    cell.addEventListener("click", () => playMove({ action: Number(cell.dataset.action) }));
  }
  let status;
  if (view.result) status = view.result.text;
  else if (view.to_move === "you") status = `Your move (${view.you})`;
  else status = `${view.opponent} (${view.agent}) to move…`;
  $("status").textContent = status;
  $("status").className = view.result ? "status result" : "status";
  $("status").dataset.state = view.result ? "over" : view.to_move;
  const moves = $("moves");
  moves.innerHTML = "";
  for (const m of view.moves) {
    const li = document.createElement("li");
    li.textContent = m.move;
    li.className = m.by;
    moves.appendChild(li);
  }
  $("pass").hidden = !view.legal.some((m) => m.move === "pass") || view.to_move !== "you";
  $("undo").disabled = !view.can_undo;
  $("resign").disabled = !!view.result;
  $("hint").disabled = !!view.result;
  renderAnalysis(view);
}

async function act(work) {
  if (busy) return;
  busy = true;
  $("message").textContent = "";
  try {
    await work();
  } catch (e) {
    if (e instanceof Refused) $("message").textContent = e.message;
    else if (!(e instanceof Error && e.message === "server error")) showError(String(e));
  } finally {
    busy = false;
  }
}

async function agentTurn() {
  while (game && !game.result && game.to_move === "agent") {
    $("status").textContent = `${game.opponent} is thinking…`;
    render(await api("POST", `/api/games/${game.id}/reply`));
  }
}

function playMove(move) {
  act(async () => {
    if (!game || game.to_move !== "you") {
      throw new Refused(game && game.result ? "the game is over" : "wait for your turn");
    }
    render(await api("POST", `/api/games/${game.id}/move`, move));
    await agentTurn();
  });
}

function newGame() {
  act(async () => {
    const body = { env: $("game-select").value, opponent: $("opponent").value,
      first: $("colour").value };
    render(await api("POST", "/api/games", body));
    await agentTurn();
  });
}

function command(name) {
  act(async () => {
    if (!game) return;
    render(await api("POST", `/api/games/${game.id}/${name}`));
  });
}

// ---------------------------------------------------------------------------
// Watch recorded games

let replay = { index: null, kind: null, name: null, ply: 0, plies: 0, timer: null };

async function showLibrary(index) {
  const data = await api("GET", `/api/library/${index}`);
  replay.index = index;
  $("standings").textContent = data.standings || "(no standings.md)";
  const list = $("game-list");
  list.innerHTML = "";
  for (const g of data.game_list) {
    const a = document.createElement("a");
    const winner = g.winner === null ? "draw" : `${g.winner} won`;
    a.textContent = `#${g.game} ${g.first} vs ${g.second}: ${winner}, ${g.moves} moves`;
    a.addEventListener("click", () => openRecorded("games", g.game, a));
    list.appendChild(a);
  }
  for (const name of data.sgf_files) {
    const a = document.createElement("a");
    a.textContent = name;
    a.addEventListener("click", () => openRecorded("sgf", name, a));
    list.appendChild(a);
  }
  const first = list.querySelector("a");
  if (first) first.click();
}

function recordedUrl(ply) {
  const name = replay.kind === "sgf" ? encodeURI(replay.name) : replay.name;
  return `/api/library/${replay.index}/${replay.kind}/${name}?ply=${ply}`;
}

async function openRecorded(kind, name, link) {
  for (const a of $("game-list").querySelectorAll("a")) a.classList.remove("current");
  link.classList.add("current");
  replay.kind = kind;
  replay.name = name;
  await showPly(0);
}

async function showPly(ply) {
  const data = await api("GET", recordedUrl(ply));
  replay.ply = data.ply;
  replay.plies = data.plies;
  $("replay-board").innerHTML = data.svg;
  $("replay-title").textContent = `${data.players[0]} vs ${data.players[1]} (${data.env}): ` +
    `${data.result}`;
  $("replay-slider").max = data.plies;
  $("replay-slider").value = data.ply;
  $("replay-ply").textContent = `move ${data.ply} / ${data.plies}` +
    (data.ply ? `: ${data.moves[data.ply - 1]}` : "");
  $("replay-moves").textContent = data.moves.map((m, i) => `${i + 1}.${m}`).join(" ");
}

function stepReplay(ply) {
  if (replay.kind === null) return;
  showPly(Math.max(0, Math.min(replay.plies, ply))).catch((e) => {
    if (e instanceof Refused) $("replay-title").textContent = e.message;
  });
}

function toggleReplay() {
  if (replay.timer) {
    clearInterval(replay.timer);
    replay.timer = null;
    $("replay-play").textContent = "Play";
    return;
  }
  $("replay-play").textContent = "Pause";
  replay.timer = setInterval(() => {
    if (replay.ply >= replay.plies) toggleReplay();
    else stepReplay(replay.ply + 1);
  }, 700);
}

// ---------------------------------------------------------------------------
// Watch a one-player agent

let episode = { data: null, t: 0, timer: null };

function showFrame(t) {
  const data = episode.data;
  episode.t = t;
  $("episode-frame").src = data.frames[t];
  $("episode-slider").value = t;
  const total = data.rewards.slice(0, t).reduce((s, r) => s + r, 0);
  $("episode-step").textContent = `step ${t} / ${data.frames.length - 1}, return ${total}`;
}

function pauseEpisode() {
  if (episode.timer) {
    clearInterval(episode.timer);
    episode.timer = null;
    $("episode-pause").textContent = "Play";
  } else if (episode.data) {
    $("episode-pause").textContent = "Pause";
    episode.timer = setInterval(() => {
      if (episode.t + 1 >= episode.data.frames.length) pauseEpisode();
      else showFrame(episode.t + 1);
    }, 60);
  }
}

async function playEpisode() {
  if (episode.timer) pauseEpisode();
  $("episode-status").textContent = "playing an episode…";
  try {
    const seed = Number($("episode-seed").value) || 0;
    const agent = encodeURIComponent($("episode-agent").value);
    episode.data = await api("GET", `/api/episode?agent=${agent}&seed=${seed}`);
  } catch (e) {
    if (e instanceof Refused) $("episode-status").textContent = e.message;
    return;
  }
  $("episode-status").textContent = `${episode.data.agent} on ${episode.data.env}: ` +
    episode.data.result;
  $("episode-slider").max = episode.data.frames.length - 1;
  showFrame(0);
  pauseEpisode();
}

// ---------------------------------------------------------------------------

function switchTab(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.tab === name);
  }
  for (const panel of ["play", "watch", "episode"]) $(panel).hidden = panel !== name;
}

async function start() {
  config = await api("GET", "/api/config");
  for (const g of config.games) {
    const option = document.createElement("option");
    option.value = g.env;
    option.textContent = g.env;
    $("game-select").appendChild(option);
  }
  $("game-select").addEventListener("change", () => opponentChoices($("game-select").value));
  opponentChoices($("game-select").value);
  $("new-game").addEventListener("click", newGame);
  $("play-move").addEventListener("click", () => {
    const text = $("move-text").value.trim();
    if (text) playMove({ move: text });
  });
  $("move-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter") $("play-move").click();
  });
  $("pass").addEventListener("click", () => playMove({ move: "pass" }));
  $("undo").addEventListener("click", () => command("undo"));
  $("resign").addEventListener("click", () => command("resign"));
  $("hint").addEventListener("click", () => command("analyse"));
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => switchTab(tab.dataset.tab));
  }

  config.libraries.forEach((d, i) => {
    const option = document.createElement("option");
    option.value = i;
    option.textContent = `${d.name} (${d.env || "?"}, ${d.games} games, ${d.sgf} SGF)`;
    $("library-select").appendChild(option);
  });
  $("library-empty").hidden = config.libraries.length > 0;
  $("library-select").addEventListener("change", () => showLibrary($("library-select").value));
  if (config.libraries.length) showLibrary(0).catch(() => {});
  $("replay-first").addEventListener("click", () => stepReplay(0));
  $("replay-prev").addEventListener("click", () => stepReplay(replay.ply - 1));
  $("replay-next").addEventListener("click", () => stepReplay(replay.ply + 1));
  $("replay-last").addEventListener("click", () => stepReplay(replay.plies));
  $("replay-play").addEventListener("click", toggleReplay);
  $("replay-slider").addEventListener("input", () => stepReplay(Number($("replay-slider").value)));

  for (const name of config.one_player) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    $("episode-agent").appendChild(option);
  }
  $("episode-empty").hidden = config.one_player.length > 0;
  $("episode-go").disabled = config.one_player.length === 0;
  $("episode-go").addEventListener("click", playEpisode);
  $("episode-pause").addEventListener("click", pauseEpisode);
  $("episode-slider").addEventListener("input", () => {
    if (episode.data) showFrame(Number($("episode-slider").value));
  });

  const saved = sessionStorage.getItem("zerogo-game");
  if (saved) {
    try {
      render(await api("GET", `/api/games/${encodeURIComponent(saved)}`));
      await agentTurn();
      return;
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
    }
  }
  newGame();
}

start().catch((e) => showError("could not start: " + e));
