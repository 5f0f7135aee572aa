/**
 * `--set key=value`: one field of a model's config from the command line, as
 * `models.create`'s overrides take it (`--set widths=48,96 --set activation=silu`). The
 * value is read as JSON when it parses (numbers, booleans, arrays, the stem's objects), a
 * comma list as an array (numbers where they are numbers), anything else as a string; the
 * model's family then checks names and values.
 */
export function parseSetting(text: string): { key: string; value: unknown } | null {
  const eq = text.indexOf('=');
  const key = text.slice(0, eq).trim();
  if (eq < 0 || key === '') return null;
  return { key, value: settingValue(text.slice(eq + 1).trim()) };
}

function settingValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    if (!text.includes(',')) return text;
    return text.split(',').map((item) => (item.trim() !== '' && Number.isFinite(Number(item)) ? Number(item) : item.trim()));
  }
}
