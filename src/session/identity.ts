/**
 * Who runs these sessions where: the host and user every listed record carries, read once per
 * process and never failing (each source may be denied to an embedding program).
 * @module
 */

/** Who runs these sessions where: carried by every listed record. */
export interface Identity {
  /** This machine's host name. */
  host: string;
  /** This process's user name. */
  user: string;
}

let identity: Identity | undefined;

/** This machine's host name and this process's user name (from the uid, not `$USER`). */
export async function whoAmI(): Promise<Identity> {
  if (identity) return identity;
  // Each source may be denied (a library embedded without --allow-sys/env/read): fall through.
  const env = (key: string) => {
    try {
      return Deno.env.get(key) ?? "";
    } catch {
      return "";
    }
  };
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    host = env("HOSTNAME");
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    uid = null;
  }
  let user = "";
  try {
    const passwd = await Deno.readTextFile("/etc/passwd");
    user = passwd.split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))?.[0] ??
      "";
  } catch {
    user = "";
  }
  user ||= env("USER") || env("LOGNAME") || (uid === null ? "" : `uid ${uid}`);
  identity = { host: host || "unknown", user: user || "unknown" };
  return identity;
}
