// Keeps the status page current without reloading it, copies addresses,
// and asks before logging out. The page works without it.
"use strict";

const live = ["envs", "requests"];

async function refresh() {
  if (document.hidden) return;
  let html;
  try {
    const res = await fetch("/", { cache: "no-store" });
    if (!res.ok) throw new Error(res.statusText);
    html = await res.text();
  } catch (e) {
    document.getElementById("offline").hidden = false;
    document.getElementById("running").hidden = true;
    return;
  }
  document.getElementById("offline").hidden = true;
  document.getElementById("running").hidden = false;
  const next = new DOMParser().parseFromString(html, "text/html");
  for (const id of live) {
    const now = document.getElementById(id);
    const fresh = next.getElementById(id);
    if (now && fresh) now.replaceWith(document.importNode(fresh, true));
  }
}

setInterval(refresh, 2000);
document.addEventListener("visibilitychange", refresh);

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (e) {
    getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
});
