/** Numeric form fields read and checked before anything is sent. */

/**
 * A numeric field's value, checked before anything is sent: an empty field is an error naming
 * it (never `Number("") = 0`, which would train with a learning rate of 0), and so is a value
 * outside [min, max], one not below `below` or, for `integer`, a fraction.
 * @throws Error naming the field, shown in the error box.
 */
export function fieldNumber(
  field: HTMLInputElement,
  label: string,
  limits: { integer?: boolean; min?: number; max?: number; below?: number } = {},
): number {
  const text = field.value.trim();
  const fallback = field.defaultValue.trim() === "" ? "" : ` (the default is ${field.defaultValue.trim()})`;
  if (text === "") throw new Error(`${label} is empty: enter a number${fallback}`);
  const value = Number(text);
  const { integer = false, min, max, below } = limits;
  if (!Number.isFinite(value)) throw new Error(`${label} must be a number; got "${text}"`);
  if (integer && !Number.isInteger(value)) throw new Error(`${label} must be a whole number; got ${text}`);
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range =
      min !== undefined && max !== undefined
        ? `between ${min} and ${max}`
        : min !== undefined
          ? `at least ${min}`
          : `at most ${max}`;
    throw new Error(`${label} must be ${range}; got ${text}`);
  }
  if (below !== undefined && value >= below) throw new Error(`${label} must be below ${below}; got ${text}`);
  return value;
}
