// The Playground's data-set picker (ui/thumbnails.py): one real <button> per data set holding
// its thumbnail (server-made SVG of numbers only) and its name; the current one is pressed.
// A click, or Enter / Space on a focused button, triggers "pick" with the data set's name: the
// page run that follows chooses it as the sidebar's selector would.
//
// Wide screens: one row of six. Narrow ones (a phone): the row scrolls sideways inside its own
// box, so nothing reaches past the screen's edge.

const STYLE = `
.dq-thumbs { display: flex; gap: 0.5rem; overflow-x: auto; padding: 2px 2px 4px;
  scrollbar-width: thin; }
.dq-thumb { flex: 0 0 auto; width: 4.6rem; display: flex; flex-direction: column;
  align-items: center; gap: 0.15rem; padding: 0.3rem 0.25rem 0.2rem; cursor: pointer;
  font: inherit; font-size: 0.75rem; line-height: 1.1; color: inherit;
  background: #ffffff; border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; }
.dq-thumb svg { width: 3.4rem; height: 3.4rem; display: block; }
.dq-thumb:hover { border-color: #2563eb; }
.dq-thumb:focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; }
.dq-thumb[aria-pressed="true"] { border: 2px solid #2563eb; background: #eff6ff;
  font-weight: 600; padding: calc(0.3rem - 1px) calc(0.25rem - 1px) calc(0.2rem - 1px); }
@media (max-width: 640px) {
  .dq-thumbs { gap: 0.35rem; }
  .dq-thumb { width: 3.9rem; font-size: 0.7rem; }
  .dq-thumb svg { width: 2.9rem; height: 2.9rem; }
}
`;

const rows = new WeakMap(); // parentElement -> {row, buttons and svgs by name, current}

function button(state, item) {
  const node = document.createElement("button");
  node.type = "button";
  node.className = "dq-thumb";
  node.dataset.dataset = item.name;
  node.title = `Train on ${item.label}`;
  node.addEventListener("click", () => {
    if (item.name !== state.current) state.trigger("pick", item.name);
  });
  return node;
}

export default function render({ data, parentElement, setTriggerValue }) {
  let state = rows.get(parentElement);
  if (!state) {
    const style = document.createElement("style");
    style.textContent = STYLE;
    parentElement.appendChild(style);
    const row = document.createElement("div");
    row.className = "dq-thumbs";
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", "Data set");
    parentElement.appendChild(row);
    state = { row, buttons: new Map(), svgs: new Map() };
    rows.set(parentElement, state);
  }
  state.current = data.current;
  state.trigger = setTriggerValue;
  // The same buttons from run to run: a keyboard user's focus stays where it was.
  for (const item of data.items) {
    let node = state.buttons.get(item.name);
    if (!node) {
      node = button(state, item);
      state.buttons.set(item.name, node);
      state.row.appendChild(node);
    }
    if (state.svgs.get(item.name) !== item.svg) {
      state.svgs.set(item.name, item.svg);
      node.innerHTML = item.svg; // made by the server from numbers and fixed colours
      const name = document.createElement("span");
      name.textContent = item.label;
      node.appendChild(name);
    }
    node.setAttribute("aria-pressed", String(item.name === data.current));
  }
  // The data sets of the other task (the sidebar's Task switch) leave the row.
  const shown = new Set(data.items.map((item) => item.name));
  for (const [name, node] of state.buttons) {
    if (shown.has(name)) continue;
    node.remove();
    state.buttons.delete(name);
    state.svgs.delete(name);
  }
  return () => rows.delete(parentElement);
}
