// mmrag web page: plain JS against the query API (no framework, no CDN).
"use strict";

const $ = (id) => document.getElementById(id);
let queryImage = null; // a File chosen or dropped

function headers(extra = {}) {
  const key = $("api-key").value.trim();
  localStorage.setItem("mmrag-api-key", key);
  return key ? { ...extra, "X-API-Key": key } : extra;
}

function modalities() {
  const wanted = [];
  if ($("want-text").checked) wanted.push("text");
  if ($("want-image").checked) wanted.push("image");
  return wanted;
}

// <img src> cannot send the API key: with a key, thumbnails are fetched and shown as blobs.
function image(url, alt) {
  const node = el("img", { alt, loading: "lazy" });
  const key = $("api-key").value.trim();
  if (!key) { node.src = url; return node; }
  fetch(url, { headers: { "X-API-Key": key } })
    .then((response) => (response.ok ? response.blob() : Promise.reject(response.status)))
    .then((blob) => { node.src = URL.createObjectURL(blob); })
    .catch(() => { node.alt = `${alt} (thumbnail unavailable)`; });
  return node;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    return JSON.stringify(body.detail ?? body);
  } catch { return `${response.status} ${response.statusText}`; }
}

function describeRetrievers(retrievers) {
  return Object.entries(retrievers).map(([name, rank]) => `${name} #${rank}`).join(" · ");
}

function matchedText(hit) {
  const more = (hit.matched_chunks || 0) - 1;
  return more > 0 ? ` · ${more} more matching passage${more > 1 ? "s" : ""} in this document` : "";
}

async function search(event) {
  event.preventDefault();
  const query = $("query").value.trim();
  const status = $("search-status");
  if (!query && !queryImage) { status.textContent = "Type a query or drop an image."; return; }
  $("search-button").disabled = true;
  status.className = ""; status.textContent = "Searching…";
  const fields = { k: Number($("k").value) || 10, mode: $("mode").value, modalities: modalities() };
  if ($("by-document").checked) fields.group_by = "document";
  let response;
  try {
    if (queryImage) {
      const form = new FormData();
      if (query) form.append("query", query);
      form.append("image", queryImage);
      form.append("k", String(fields.k));
      form.append("mode", fields.mode);
      if (fields.group_by) form.append("group_by", fields.group_by);
      for (const modality of fields.modalities) form.append("modalities", modality);
      response = await fetch("/search", { method: "POST", body: form, headers: headers() });
    } else {
      response = await fetch("/search", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ query, ...fields }),
      });
    }
    if (!response.ok) throw new Error(await errorText(response));
    render(await response.json());
  } catch (error) {
    status.className = "error"; status.textContent = error.message;
  } finally {
    $("search-button").disabled = false;
  }
}

function render(result) {
  const images = $("image-results"), texts = $("text-results");
  images.replaceChildren(); texts.replaceChildren();
  for (const hit of result.hits) {
    const where = hit.page ? `${hit.uri} · page ${hit.page}` : hit.uri;
    if (hit.modality === "image") {
      images.append(el("figure", { class: "image-hit", "data-chunk-id": hit.chunk_id },
        image(hit.image_url, hit.snippet || hit.title || "image result"),
        el("figcaption", {}, hit.title || "", el("br"), where)));
    } else {
      texts.append(el("li", { class: "text-hit", "data-chunk-id": hit.chunk_id },
        el("strong", {}, hit.title || hit.doc_id),
        el("div", { class: "source" }, where),
        el("p", { class: "snippet" }, hit.snippet || ""),
        el("div", { class: "retrievers" }, describeRetrievers(hit.retrievers), matchedText(hit))));
    }
  }
  $("search-status").textContent =
    `${result.hits.length} results (${result.mode}, ${result.took_ms.toFixed(0)} ms)`;
}

function setImage(file) {
  queryImage = file;
  const zone = $("drop-zone");
  zone.classList.toggle("has-image", Boolean(file));
  $("drop-label").textContent = file ? `Image: ${file.name}` : "Drop an image here, or click to choose one";
  $("clear-image").hidden = !file;
}

function wireDropZone() {
  const zone = $("drop-zone"), input = $("image-input");
  zone.addEventListener("click", (event) => { if (event.target.id !== "clear-image") input.click(); });
  zone.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") input.click(); });
  input.addEventListener("change", () => setImage(input.files[0] || null));
  $("clear-image").addEventListener("click", () => { input.value = ""; setImage(null); });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault(); zone.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file && file.type.startsWith("image/")) setImage(file);
  });
}

// --- ask: Server-Sent Events over fetch (POST), parsed by hand ---------------------------

function linkCitations(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    fragment.append(text.slice(last, match.index));
    const numbers = match[1].split(",").map((n) => n.trim());
    fragment.append("[");
    numbers.forEach((number, index) => {
      if (index) fragment.append(", ");
      fragment.append(el("a", { class: "cite", href: `#citation-${number}`, "data-number": number }, number));
    });
    fragment.append("]");
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

function renderCitations(citations) {
  const list = $("citations");
  list.replaceChildren();
  for (const citation of citations) {
    const where = citation.page ? `${citation.uri} · page ${citation.page}` : citation.uri;
    const item = el("li", { id: `citation-${citation.number}`, value: citation.number });
    if (citation.image_url) item.append(image(citation.image_url, citation.title || "cited image"));
    item.append(el("strong", {}, citation.title || citation.doc_id), " ", el("span", { class: "source" }, where));
    list.append(item);
  }
}

const FALLBACK_REASONS = {
  no_llm: "no language model is configured",
  no_passages: "nothing was retrieved",
  llm_failed: "the language model failed",
  timeout: "the language model did not answer in time",
  repetition: "the language model's answer repeated itself",
  no_citations: "the language model's answer cited no source",
  too_short: "the language model gave no usable answer",
};

// The label under the answer: who wrote it, and why it is extractive when it is.
function answeredBy(done) {
  if (done.generator !== "extractive") return `answered by ${done.generator}, citing its sources`;
  const why = FALLBACK_REASONS[done.fallback_reason] || done.fallback_reason;
  const label = "answered by extractive retrieval: the retrieved passages, not a generated answer";
  return why ? `${label} (${why})` : label;
}

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  const answer = $("answer");
  let text = "";
  answer.replaceChildren(); answer.classList.remove("error");
  $("citations").replaceChildren(); $("generator").textContent = "";
  $("ask-button").disabled = true;
  try {
    const response = await fetch("/ask", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify({ question, stream: true, mode: $("mode").value }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let name = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trimStart();
        }
        if (!data) continue;
        const payload = JSON.parse(data);
        if (name === "token") { text += payload.text; answer.replaceChildren(linkCitations(text)); }
        else if (name === "citations") renderCitations(payload);
        else if (name === "done") $("generator").textContent = answeredBy(payload);
        else if (name === "error") throw new Error(payload.detail || "the answer failed");
      }
    }
  } catch (error) {
    answer.classList.add("error"); answer.textContent = error.message;
  } finally {
    $("ask-button").disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest(".cite");
  if (!link) return;
  const target = document.getElementById(`citation-${link.dataset.number}`);
  if (target) {
    event.preventDefault();
    target.scrollIntoView({ block: "nearest" });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 1200);
  }
});

// The health line: the index's state and what the worker has still to do, per lane.
function healthText(health) {
  const backlog = health.backlog
    ? `backlog: ${health.backlog.live} live, ${health.backlog.backfill} backfill`
    : "backlog: unknown (Kafka is not answering)";
  const build = health.index_build;
  const generation = build
    ? ` · new index ${build.generation} ${build.state}: ${build.documents_done}/` +
      `${build.documents_total} documents` +
      (build.eta_s ? `, ETA ${Math.round(build.eta_s)} s` : "")
    : "";
  return `index ${health.status} (Elasticsearch ${health.elasticsearch}) · ${backlog}${generation}`;
}

async function showHealth() {
  const line = $("health");
  try {
    const response = await fetch("/health");
    if (!response.ok) throw new Error(await errorText(response));
    const health = await response.json();
    line.textContent = healthText(health);
    line.classList.toggle("error", health.status !== "ok");
  } catch (error) {
    line.textContent = `health: the API is not answering (${error.message})`;
    line.classList.add("error");
  }
}

$("api-key").value = localStorage.getItem("mmrag-api-key") || "";
showHealth();
setInterval(showHealth, 10000);
$("search-form").addEventListener("submit", search);
$("ask-form").addEventListener("submit", ask);
wireDropZone();
