/**
 * License detection for the dataset manifest: which license files (LICENSE*, LICENCE*, COPYING*,
 * COPYRIGHT*, UNLICENSE*) a folder holds and what they look like, and the `license` field of an
 * npm package.json. Recognition is by characteristic phrases of the common licenses, reported as
 * SPDX identifiers, "unknown" otherwise; it records what was found, it is not legal advice.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** File names that are license texts. */
export const LICENSE_FILE = /^(licen[cs]e|copying|copyright|unlicense)([-._ ].*)?$/i;

/** Characteristic phrases, checked in order (more specific first). */
const PATTERNS: [string, RegExp[]][] = [
  ["PSF-2.0", [/PYTHON SOFTWARE FOUNDATION LICENSE/i]],
  // The GNU licenses are named in their title (other licenses mention them later, e.g. Python's "GPL-compatible").
  ["AGPL-3.0", [/^.{0,300}GNU AFFERO GENERAL PUBLIC LICENSE/is]],
  ["LGPL-3.0", [/^.{0,300}GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3/is]],
  ["LGPL-2.1", [/^.{0,300}GNU (LESSER|LIBRARY) GENERAL PUBLIC LICENSE/is]],
  ["GPL-3.0", [/^.{0,300}GNU GENERAL PUBLIC LICENSE\s+Version 3/is]],
  ["GPL-2.0", [/^.{0,300}GNU GENERAL PUBLIC LICENSE\s+Version 2/is]],
  ["Apache-2.0", [/Apache License/i, /Version 2\.0/i]],
  ["MPL-2.0", [/Mozilla Public License/i, /2\.0/]],
  ["Unlicense", [/free and unencumbered software released into the public domain/i]],
  ["0BSD", [/Permission to use, copy, modify, and\/or distribute this software for any purpose with or without fee is hereby granted\.\s+THE SOFTWARE/i]],
  ["ISC", [/Permission to use, copy, modify, and(\/or)? distribute this software for any\s+purpose with or without fee/i]],
  ["MIT", [/Permission is hereby granted, free of charge/i]],
  ["BSD-3-Clause", [/Redistribution and use in source and binary forms/i, /Neither the name/i]],
  ["BSD-2-Clause", [/Redistribution and use in source and binary forms/i]],
  ["CC0-1.0", [/CC0 1\.0 Universal/i]],
];

/** The SPDX id a license text looks like, or "unknown". */
export function identifyLicense(text: string): string {
  const t = text.replace(/\s+/g, " ");
  for (const [id, res] of PATTERNS) if (res.every((r) => r.test(t))) return id;
  if (/\bMIT License\b/i.test(t)) return "MIT";
  return "unknown";
}

/** The first `max` bytes of a file as text (license files can be long; the phrases come early). */
export function readHead(path: string, max = 65536): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** package.json's license: "license" (a string or legacy {type}), or legacy "licenses": [{type}]. */
export function packageJsonLicense(pkg: unknown): { license?: string; name?: string } {
  if (pkg === null || typeof pkg !== "object" || Array.isArray(pkg)) return {};
  const p = pkg as Record<string, unknown>;
  const name = typeof p.name === "string" ? p.name : undefined;
  const one = (v: unknown): string | undefined =>
    typeof v === "string" ? v : v && typeof v === "object" && typeof (v as { type?: unknown }).type === "string" ? (v as { type: string }).type : undefined;
  let license = one(p.license);
  if (license === undefined && Array.isArray(p.licenses)) {
    const all = p.licenses.map(one).filter((x): x is string => x !== undefined);
    if (all.length) license = all.length === 1 ? all[0] : `(${all.join(" OR ")})`;
  }
  return { license, name };
}
