// The API key the page uses, asked for once and kept in sessionStorage (gone with the tab).
const KEY = 'devteam.apiKey';

export function apiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}
