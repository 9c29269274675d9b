// A small YAML emitter for manifests (maps, lists, strings, numbers, booleans, null).
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~)$/i;

function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = String(value);
  return PLAIN.test(text) && !RESERVED.test(text) ? text : JSON.stringify(text);
}

function isEmpty(value) {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function emit(value, indent, lines) {
  const pad = " ".repeat(indent);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === "object" && !isEmpty(item)) {
        const inner = [];
        emit(item, indent + 2, inner);
        lines.push(`${pad}- ${inner[0].trimStart()}`, ...inner.slice(1));
      } else {
        lines.push(`${pad}- ${inline(item)}`);
      }
    }
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item !== null && typeof item === "object" && !isEmpty(item)) {
      if (Array.isArray(item) && item.every((x) => x === null || typeof x !== "object")) {
        lines.push(`${pad}${key}: [${item.map(scalar).join(", ")}]`);
      } else {
        lines.push(`${pad}${key}:`);
        emit(item, Array.isArray(item) ? indent + 2 : indent + 2, lines);
      }
    } else {
      lines.push(`${pad}${key}: ${inline(item)}`);
    }
  }
}

function inline(value) {
  if (value !== null && typeof value === "object") return Array.isArray(value) ? "[]" : "{}";
  return scalar(value);
}

export function toYaml(value) {
  const lines = [];
  emit(value, 0, lines);
  return `${lines.join("\n")}\n`;
}
