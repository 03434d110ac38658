/** Elements of web/index.html by id, and the page's error box. */

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const input = (id: string) => $<HTMLInputElement>(id);
export const select = (id: string) => $<HTMLSelectElement>(id);
export const button = (id: string) => $<HTMLButtonElement>(id);

/**
 * Shows an error in the box at the top of the page, or in a panel's own box `id` (an aborted
 * request is not one).
 */
export function showError(err: unknown, id = "error"): void {
  if (err instanceof DOMException && err.name === "AbortError") return;
  const box = $(id);
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
}

export function clearError(id = "error"): void {
  $(id).hidden = true;
}

/** An error's message, for a sentence. */
export const messageOf = (err: unknown) => (err instanceof Error ? err.message : err);

/** Hands a file to the browser's downloads, as `name` (a link clicked, then its URL released). */
export function saveFile(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
