/** Elements of web/index.html by id, and the page's error box. */

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const input = (id: string) => $<HTMLInputElement>(id);
export const select = (id: string) => $<HTMLSelectElement>(id);
export const button = (id: string) => $<HTMLButtonElement>(id);

/** Shows an error in the box at the top of the page (an aborted request is not one). */
export function showError(err: unknown): void {
  if (err instanceof DOMException && err.name === "AbortError") return;
  const box = $("error");
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
}

export function clearError(): void {
  $("error").hidden = true;
}

/** An error's message, for a sentence. */
export const messageOf = (err: unknown) => (err instanceof Error ? err.message : err);
