/**
 * A varied text set for comparing tokenizers: code in several languages, CJK and Korean,
 * emoji (ZWJ sequences, skin tones, flags), whitespace runs, tabs, CRLF, leading spaces and
 * very long lines. (It avoids " <PRE>", " <SUF>", " <MID>", " <EOT>": llama.cpp turns those into
 * the CONTROL sentinels, SentencePiece does not; codellama.test.ts covers that case.)
 */
export const PYTHON = `import os
from typing import List, Optional


class Node:
    """A binary tree node."""

    def __init__(self, value: int, left: Optional["Node"] = None, right=None) -> None:
        self.value = value
        self.left, self.right = left, right

    def __repr__(self):
        return f"Node({self.value!r}, {self.left!r}, {self.right!r})"


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


if __name__ == "__main__":
    print([fib(i) for i in range(20)], os.getcwd(), 3.14159e-10, 0x1F, 1_000_000)
`;

export const JAVASCRIPT = `'use strict';
const express = require('express');
export async function handler(req, res) {
  const { id = 0, ...rest } = req.query ?? {};
  if (id === undefined || id !== id) throw new TypeError(\`bad id: \${id}\`);
  return res.status(200).json({ ok: true, items: [1, 2, 3].map((x) => x ** 2), rest });
}
// arrow => functions, optional?.chaining, nullish ?? coalescing, regex /^a+?b*$/giu
`;

export const C = `#include <stdio.h>
#include <stdlib.h>

typedef struct { int *data; size_t len, cap; } vec_t;

static int push(vec_t *v, int x) {
\tif (v->len == v->cap) {
\t\tv->cap = v->cap ? v->cap * 2 : 8;
\t\tv->data = realloc(v->data, v->cap * sizeof *v->data);
\t\tif (!v->data) return -1;
\t}
\tv->data[v->len++] = x;
\treturn 0;
}

int main(int argc, char **argv) { printf("%s: %d args\\n", argv[0], argc); return EXIT_SUCCESS; }
`;

export const RUST = `use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> { Ident(&'a str), Number(f64), Punct(char) }

impl<'a> Token<'a> {
    pub fn lex(src: &'a str) -> Result<Vec<Token<'a>>, String> {
        let mut out = Vec::with_capacity(src.len() / 4);
        let mut counts: HashMap<char, usize> = HashMap::new();
        for (i, c) in src.char_indices() {
            *counts.entry(c).or_insert(0) += 1;
            match c { '0'..='9' => out.push(Token::Number(c as u8 as f64)), _ if c.is_whitespace() => {}, _ => out.push(Token::Punct(c)) }
            let _ = i;
        }
        Ok(out)
    }
}
`;

export const GO = `package main

import (
\t"fmt"
\t"sync"
)

func worker(id int, jobs <-chan int, results chan<- int, wg *sync.WaitGroup) {
\tdefer wg.Done()
\tfor j := range jobs {
\t\tresults <- j * 2
\t}
\t_ = id
}

func main() {
\tjobs, results := make(chan int, 100), make(chan int, 100)
\tvar wg sync.WaitGroup
\tfor w := 1; w <= 3; w++ { wg.Add(1); go worker(w, jobs, results, &wg) }
\tfmt.Printf("%v %T %#x\\n", <-results, wg, 255)
}
`;

export const SQL = `SELECT u.id, u.name, COUNT(o.id) AS orders, SUM(o.total)::numeric(10,2) AS revenue
FROM users AS u
LEFT JOIN orders o ON o.user_id = u.id AND o.created_at >= NOW() - INTERVAL '30 days'
WHERE u.email LIKE '%@example.com' AND u.deleted_at IS NULL
GROUP BY u.id, u.name
HAVING COUNT(o.id) > 0
ORDER BY revenue DESC NULLS LAST
LIMIT 10 OFFSET 20;
`;

export const SHELL = `#!/usr/bin/env bash
set -euo pipefail
for f in "$@"; do
  if [[ -f "$f" && "\${f##*.}" == "py" ]]; then
    echo "checking $f" >&2; python3 -m py_compile "$f" || exit 1
  fi
done 2>&1 | tee /tmp/log.txt | grep -v '^$' | awk '{ print NR": "$0 }'
`;

export const TEXTS: string[] = [
  PYTHON, JAVASCRIPT, C, RUST, GO, SQL, SHELL,
  // single lines of code with leading indentation
  "    return self.value", "\treturn x;", "        }", "  ", " ", "", "x", " x", "  x", "\nx",
  // whitespace runs of every length up to 40, spaces and tabs, mixed
  ...Array.from({ length: 40 }, (_, i) => " ".repeat(i + 1) + "y"),
  "\t\t\t\tdeep", " \t \t mixed\t \t", "trailing   ", "a    b     c      d       e",
  // line endings
  "line one\r\nline two\r\n\r\nline four\r\n", "old mac\rline\r", "\n\n\n", "\r\n",
  // Korean, Japanese, Chinese, other scripts
  "안녕하세요, 세계! 코드 주석: 이 함수는 리스트를 정렬합니다.",
  "日本語のテキストとカタカナ、ひらがな。東京都渋谷区",
  "中文文本：这是一个测试。繁體中文：這是一個測試。",
  "Ελληνικά, русский текст, עברית, العربية, हिन्दी, ไทย",
  "Crème brûlée, naïve façade, Ångström, Øresund, ß, ǅ, ﬁ ligature",
  // emoji: ZWJ families, skin tones, flags, keycaps, variation selectors
  "👩‍👩‍👧‍👦 👨🏽‍💻 🏳️‍🌈 🇺🇸🇯🇵🇰🇷 1️⃣ #️⃣ ❤️ ☺️ ☺ 🙂 🤖",
  "emoji in code: print('🐍') # snake",
  // math and symbols, astral letters, unusual characters
  "∀x ∈ ℝ: x² ≥ 0 ⇒ √(x²) = |x|; ∑_{i=0}^{n} i = n(n+1)/2",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕥𝕖𝕩𝕥 𠜎𠜱 ꙮ",
  "zero\u200bwidth\u200dspace\ufeffbom \u00a0nbsp \u3000ideographic space",
  "NUL\u0000and\u0001control\u001fchars\u007f",
  "<s> </s> <unk> [INST] <<SYS>> <FILL_ME> <step> ☺ ▁ literal meta-space",
  "<SU <SUF <PRE <M <MID <E <EOT",
  "Hello world", " Hello world", "Hello World", " Hello World!", "   Hello", "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
  "3333333333 1234567890 0.000001 1e-9 -42 +7 0b1010 0o777",
  "!!!??? ... --- *** ### $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>>",
  // very long lines
  "x = [" + Array.from({ length: 3000 }, (_, i) => String(i * 7919 % 10007)).join(", ") + "]",
  "# " + "lorem ipsum dolor sit amet ".repeat(800),
  "a".repeat(5000), " ".repeat(3000), "😀".repeat(1000), "ab".repeat(4000), "\t".repeat(2000),
];
