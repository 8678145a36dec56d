// A small word-level diff: longest common subsequence over word, space and punctuation tokens.

// Above this many DP cells the middle of the two texts is shown as one replacement instead:
// the page must stay responsive while long streams re-render.
const MAX_CELLS = 2_500_000;

/** Split text into words, runs of whitespace and single punctuation marks. */
export function tokenize(text) {
  return text ? text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) || [] : [];
}

/** Diff two texts into [{op: "equal"|"delete"|"insert", text}], adjacent ops of a kind merged. */
export function diffWords(before, after) {
  const a = tokenize(before || "");
  const b = tokenize(after || "");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops = [];
  push(ops, "equal", a.slice(0, start));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length > MAX_CELLS) {
    push(ops, "delete", midA);
    push(ops, "insert", midB);
  } else {
    for (const [op, token] of lcsOps(midA, midB)) push(ops, op, [token]);
  }
  push(ops, "equal", a.slice(endA));
  return coalesce(ops);
}

/**
 * Join changes separated only by whitespace into one deletion and one insertion, so a rewritten
 * phrase reads as one change instead of a word-by-word checkerboard.
 */
function coalesce(ops) {
  const result = [];
  let removed = "";
  let added = "";
  const flush = () => {
    if (removed) result.push({op: "delete", text: removed});
    if (added) result.push({op: "insert", text: added});
    removed = "";
    added = "";
  };
  ops.forEach((current, i) => {
    const inChange = removed || added;
    const bridge = current.op === "equal" && inChange && /^\s+$/.test(current.text)
      && i + 1 < ops.length && ops[i + 1].op !== "equal";
    if (current.op === "delete" || bridge) removed += current.text;
    if (current.op === "insert" || bridge) added += current.text;
    if (current.op === "equal" && !bridge) {
      flush();
      result.push({...current});
    }
  });
  flush();
  return result;
}

/** Token-level edit script from an LCS table, deletions before insertions within a change. */
function lcsOps(a, b) {
  const n = a.length;
  const m = b.length;
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * width + j] = a[i] === b[j]
        ? table[(i + 1) * width + j + 1] + 1
        : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push(["equal", a[i]]);
      i++;
      j++;
    } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) {
      ops.push(["delete", a[i++]]);
    } else {
      ops.push(["insert", b[j++]]);
    }
  }
  while (i < n) ops.push(["delete", a[i++]]);
  while (j < m) ops.push(["insert", b[j++]]);
  return ops;
}

function push(ops, op, tokens) {
  if (!tokens.length) return;
  const text = tokens.join("");
  const last = ops[ops.length - 1];
  if (last && last.op === op) last.text += text;
  else ops.push({op, text});
}

/** Whether the two texts differ at all. */
export function differs(before, after) {
  return (before || "") !== (after || "");
}
