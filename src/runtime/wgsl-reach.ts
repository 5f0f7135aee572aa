/**
 * The part of a WGSL source one entry point can reach, for reflection.
 *
 * A family's source holds all its kernels (conv2d.wgsl's forward, gradients, padding…) plus
 * the snippets appended to it, and wgsl_reflect parses and walks all of it to tell which
 * bindings one entry uses: on the main thread, tens of ms a family (the first family ~130
 * ms while V8 compiles the parser), which a cold start pays before its first pipeline
 * builds. Reflecting only what the entry reaches gives the same bindings, uniform layout
 * and overrides: every declaration that is not a function is kept (structs, bindings,
 * overrides, constants, directives), and of the functions only the entry and those its
 * body names, directly or through others. A name that is not a call (a local that shares
 * a function's name) only keeps one function too many. The device still compiles the
 * whole source, so an error anywhere in it is reported as before.
 */

interface TopLevelItem {
  text: string;
  /** The function it declares, or null for any other declaration. */
  fn: string | null;
}

/** Comments blanked out (line comments and nestable block comments), so that braces in them are not counted. */
function withoutComments(source: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const two = source.slice(i, i + 2);
    if (depth === 0 && two === '//') {
      const end = source.indexOf('\n', i);
      i = (end < 0 ? source.length : end) - 1;
      continue;
    }
    if (two === '/*') {
      depth++;
      i++;
      continue;
    }
    if (depth > 0 && two === '*/') {
      depth--;
      i++;
      continue;
    }
    if (depth === 0) out += source[i];
  }
  return out;
}

const FN_HEAD = /\bfn\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/;

/** Split module scope into declarations: each ends at a `;` or at the `}` that closes its braces. */
function topLevelItems(code: string): TopLevelItem[] {
  const items: TopLevelItem[] = [];
  let depth = 0;
  let start = 0;
  const push = (end: number) => {
    const text = code.slice(start, end);
    start = end;
    if (!text.trim()) return;
    // A struct's optional trailing `;` stays with the struct.
    if (text.trim() === ';' && items.length) {
      items[items.length - 1]!.text += text;
      return;
    }
    const brace = text.indexOf('{');
    const head = brace < 0 ? text : text.slice(0, brace);
    items.push({ text, fn: head.match(FN_HEAD)?.[1] ?? null });
  };
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) push(i + 1);
    else if (c === ';' && depth === 0) push(i + 1);
  }
  push(code.length);
  return items;
}

/** `source` without the functions `entry` cannot reach (see the file comment). */
export function reachableSource(source: string, entry: string): string {
  const items = topLevelItems(withoutComments(source));
  const bodies = new Map(items.filter((it) => it.fn !== null).map((it) => [it.fn!, it.text]));
  const reached = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const name = queue.pop()!;
    if (reached.has(name) || !bodies.has(name)) continue;
    reached.add(name);
    for (const id of bodies.get(name)!.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []) {
      if (bodies.has(id) && !reached.has(id)) queue.push(id);
    }
  }
  return items.filter((it) => it.fn === null || reached.has(it.fn)).map((it) => it.text).join('\n');
}
