/**
 * The Python program that checks one completion, built as the reference harness builds it, with
 * its timeout. The Executor runs it with `exec(source, {})` (as human-eval does) and counts it
 * passed only if it runs to the end.
 *
 * - humaneval (openai/human-eval `execution.py`):
 *   `prompt + completion + "\n" + test + "\n" + "check(" + entry_point + ")"`, 3 s.
 * - humaneval-infill-* (openai/human-eval-infilling):
 *   `prompt + completion + suffix + "\n" + test + "\n" + "check(" + entry_point + ")"`, 3 s.
 * - mbpp (Austin et al.; HF `code_eval` as used by lm-evaluation-harness): `completion + "\n" +
 *   test_setup_code + "\n" + the test_list asserts joined by "\n"`. The setup code comes *after*
 *   the solution (both setup snippets build objects from classes the solution defines; lm-eval
 *   leaves it out, so task 367 could never pass there). Setup is left out when empty. 10 s (the
 *   human-eval 3 s fails even the reference of task 123, which takes 3.5-5 s on this machine),
 *   and 30 s for task 123 (about 4x its slowest reference time, as EvalPlus calibrates).
 * - humaneval-plus / mbpp-plus (EvalPlus differential testing, `evalplus/eval/__init__.py`,
 *   `_special_oracle.py`, `data/mbpp.py`, `gen/util` trusted_exec): the program runs the reference
 *   (`prompt + canonical_solution`) on deep copies of `base_input` and `plus_input` first, timing
 *   each input, then, for base and then plus, execs `prompt + completion` in fresh globals with
 *   swallowed I/O and calls the entry point on each input under a per-input limit of
 *   max(4 s, 4 x reference time) within a per-phase budget of min(60 s, sum of limits) + 2 s,
 *   comparing outputs as EvalPlus does: `==`, its special oracles (HumanEval/32 find_zero: |poly|
 *   <= atol; MBPP are_equivalent, sum_div, surface_Area, digit_distance_nums, the set-equality and
 *   not-None tasks), and for floats (atol forced to 1e-6 when 0; EvalPlus keeps that for the rest
 *   of the phase) the same type, the same length and `numpy.allclose(rtol=1e-7, atol)`. MBPP+
 *   inputs are deserialized (tuples, sets, complex) by task number as EvalPlus does. The first
 *   failing input raises AssertionError("<phase> input <i>: ..."). Running the reference inside
 *   every program roughly doubles the checking cost of HumanEval+ (its references take ~14 s in
 *   all, up to 3.5 s for one task) but keeps each program self-contained and exact.
 */
import type { EvalTask } from "./datasets.js";

/** human-eval / human-eval-infilling default (`timeout=3.0`). */
export const HUMANEVAL_TIMEOUT_MS = 3000;
/** MBPP default; see the header. */
export const MBPP_TIMEOUT_MS = 10_000;
/** Calibrated per-task MBPP limits (4x the slowest reference time seen here, rounded up). */
export const MBPP_SLOW_TASKS: Readonly<Record<string, number>> = { "123": 30_000 };

/** EvalPlus limits (evalplus config at the pinned commit). */
const EVALPLUS = { minTimeLimit: 4, gtFactor: 4, taskTimeout: 60, referenceAllowance: 60 };

export function buildProgram(task: EvalTask, completion: string): { source: string; timeoutMs: number } {
  const raw = task.raw;
  switch (task.benchmark) {
    case "humaneval":
      return { source: task.prompt + completion + "\n" + String(raw.test) + "\n" + `check(${task.entryPoint})`, timeoutMs: HUMANEVAL_TIMEOUT_MS };
    case "humaneval-infill-single": case "humaneval-infill-multi": case "humaneval-infill-random":
      return { source: task.prompt + completion + (task.suffix ?? "") + "\n" + String(raw.test) + "\n" + `check(${task.entryPoint})`, timeoutMs: HUMANEVAL_TIMEOUT_MS };
    case "mbpp": {
      const setup = typeof raw.test_setup_code === "string" ? raw.test_setup_code : "";
      const source = completion + "\n" + (setup.trim() !== "" ? setup + "\n" : "") + task.tests.join("\n");
      return { source, timeoutMs: MBPP_SLOW_TASKS[task.taskId] ?? MBPP_TIMEOUT_MS };
    }
    case "humaneval-plus": case "mbpp-plus":
      return evalPlusProgram(task, completion);
  }
}

/** A Python string literal holding `s` (JSON string syntax is valid Python). */
const py = (s: string) => JSON.stringify(s);

/** Number of inputs in a JSON array text (top-level elements), without parsing numbers. */
export function countJsonArray(text: string): number {
  let depth = 0, n = 0, inStr = false, any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) { if (c === "\\") i++; else if (c === '"') inStr = false; continue; }
    if (c === '"') { inStr = true; if (depth === 1) any = true; continue; }
    if (c === "[" || c === "{") { depth++; if (depth === 2) any = true; continue; }
    if (c === "]" || c === "}") { depth--; continue; }
    if (depth === 1) { if (c === ",") n++; else if (!" \t\r\n".includes(c)) any = true; }
  }
  return any ? n + 1 : 0;
}

function evalPlusProgram(task: EvalTask, completion: string): { source: string; timeoutMs: number } {
  const raw = task.raw;
  const base = String(raw.base_input), plus = String(raw.plus_input);
  const dataset = task.benchmark === "mbpp-plus" ? "mbpp" : "humaneval";
  const taskNo = Number(task.taskId.split("/").pop());
  const values: Record<string, string> = {
    DATASET: py(dataset), TASK_NO: String(Number.isFinite(taskNo) ? taskNo : -1), ENTRY: py(task.entryPoint ?? ""),
    ATOL: String(Number(raw.atol ?? 0)), LIMITS: `${EVALPLUS.minTimeLimit}, ${EVALPLUS.gtFactor}, ${EVALPLUS.taskTimeout}`,
    SOLUTION: py(task.prompt + completion), REFERENCE: py(task.prompt + task.canonical), BASE: py(base), PLUS: py(plus),
  };
  // One pass, so text inside the inserted values is never substituted again.
  const source = EVALPLUS_HARNESS.replace(/%([A-Z_]+)%/g, (m, k: string) => values[k] ?? m);
  const phase = (n: number) => Math.min(EVALPLUS.taskTimeout, EVALPLUS.minTimeLimit * n) + 2;
  const seconds = EVALPLUS.referenceAllowance + phase(countJsonArray(base)) + phase(countJsonArray(plus));
  return { source, timeoutMs: seconds * 1000 };
}

/** The EvalPlus checker (placeholders %X% are filled with Python literals). */
const EVALPLUS_HARNESS = String.raw`def _evalplus_check():
    import contextlib, copy, io, json, math, signal, sys, time
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(50000)
    DATASET, TASK_NO, ENTRY, ATOL = %DATASET%, %TASK_NO%, %ENTRY%, %ATOL%
    MIN_TIME_LIMIT, GT_FACTOR, TASK_TIMEOUT = %LIMITS%
    SOLUTION = %SOLUTION%
    REFERENCE = %REFERENCE%
    NOT_NONE = ["check_str", "text_match_three", "text_starta_endb"]
    SET_EQ = ["similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
              "larg_nnum", "intersection_array", "find_dissimilar", "Diff"]

    class TimeoutException(Exception):
        pass

    class WriteOnlyStringIO(io.StringIO):
        def read(self, *args, **kwargs):
            raise IOError
        def readline(self, *args, **kwargs):
            raise IOError
        def readlines(self, *args, **kwargs):
            raise IOError
        def readable(self, *args, **kwargs):
            return False

    class redirect_stdin(contextlib._RedirectStream):
        _stream = "stdin"

    @contextlib.contextmanager
    def swallow_io():
        stream = WriteOnlyStringIO()
        with contextlib.redirect_stdout(stream):
            with contextlib.redirect_stderr(stream):
                with redirect_stdin(stream):
                    yield

    @contextlib.contextmanager
    def time_limit(seconds):
        def handler(signum, frame):
            raise TimeoutException("Timed out!")
        signal.setitimer(signal.ITIMER_REAL, seconds)
        signal.signal(signal.SIGALRM, handler)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def surface_area(base_edge, height):
        slant_height = math.sqrt((base_edge / 2) ** 2 + height**2)
        return round(base_edge**2 + 4 * (base_edge * slant_height) / 2)

    def digit_distance_nums(num1, num2):
        s1, s2 = str(num1), str(num2)
        n = max(len(s1), len(s2))
        s1, s2 = s1.zfill(n), s2.zfill(n)
        return sum(abs(int(a) - int(b)) for a, b in zip(s1, s2))

    def poly(xs, x):
        return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])

    def is_floats(x):
        if isinstance(x, float):
            return True
        if isinstance(x, (list, tuple)) and x:
            return all(isinstance(i, float) for i in x)
        np = sys.modules.get("numpy")
        if np is not None and isinstance(x, np.ndarray):
            return x.dtype == np.float64 or x.dtype == np.float32
        return False

    def allclose(out, exp, atol):
        try:
            import numpy as np
        except ImportError:
            def close(a, b):
                if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
                    if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)):
                        raise ValueError("shapes differ")
                    return all(close(x, y) for x, y in zip(a, b))
                a, b = float(a), float(b)
                if math.isinf(a) or math.isinf(b):
                    return a == b
                return abs(a - b) <= atol + 1e-07 * abs(b)
            return close(out, exp)
        return bool(np.allclose(out, exp, rtol=1e-07, atol=atol))

    def deserialize(inputs):
        t = TASK_NO
        if t in [2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809]:
            return [[tuple(lst) for lst in inp] for inp in inputs]
        if t in [63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780]:
            return [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
        if t in [75, 413, 444, 753]:
            return [[[tuple(lst) for lst in inp[0]]] + [inp[1]] for inp in inputs]
        if t == 106 or t == 750:
            return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
        if t == 115:
            return [[[set(item) if isinstance(item, list) and len(item) else {} for item in inp[0]]] for inp in inputs]
        if t == 124:
            return [(float(inp[0]), complex(inp[1])) for inp in inputs]
        if t in [250, 405, 446, 617, 720, 763, 808]:
            return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
        if t in [259, 401, 445]:
            m = [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
            return [[tuple(lst) for lst in inp] for inp in m]
        if t == 278:
            m = [[[tuple(item) if isinstance(item, list) else item for item in inp[0]]] for inp in inputs]
            return [[tuple(lst) for lst in inp] for inp in m]
        if t == 307:
            return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
        if t == 722:
            return [[{key: tuple(value) for key, value in inp[0].items()}] + inp[1:] for inp in inputs]
        if t == 252:
            return [[complex(inp[0])] for inp in inputs]
        if t in [580, 615, 791]:
            def to_tuple(inp):
                if isinstance(inp, list):
                    return tuple([to_tuple(item) for item in inp])
                return inp
            return [to_tuple(inp) for inp in inputs]
        return inputs

    def trusted_exec(inputs):
        g = {}
        exec(REFERENCE, g)
        fn = g[ENTRY]
        out, times = [], []
        for inp in inputs:
            inp = copy.deepcopy(inp)
            start = time.time()
            out.append(fn(*inp))
            times.append(time.time() - start)
        if DATASET == "mbpp" and ENTRY in NOT_NONE:
            out = [i is not None for i in out]
        return out, times

    def check(phase, inputs, expected, ref_time):
        limits = [max(MIN_TIME_LIMIT, GT_FACTOR * t) for t in ref_time]
        deadline = time.monotonic() + min(TASK_TIMEOUT, sum(limits)) + 2
        atol = ATOL
        g = {}
        try:
            with time_limit(max(0.001, deadline - time.monotonic())):
                with swallow_io():
                    exec(SOLUTION, g)
                    fn = g[ENTRY]
        except BaseException as e:
            raise AssertionError("%s: the solution does not load: %s: %s" % (phase, type(e).__name__, e)) from None
        for i, inp in enumerate(inputs):
            try:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutException("task time limit")
                with time_limit(min(limits[i], left)):
                    with swallow_io():
                        out = fn(*inp)
                exp = expected[i]
                exact_match = out == exp
                if DATASET == "mbpp":
                    if "are_equivalent" == ENTRY:
                        exact_match = exact_match or True
                    elif "sum_div" == ENTRY:
                        exact_match = exact_match or out == 0
                    elif "surface_Area" == ENTRY:
                        exact_match = exact_match or abs(out - surface_area(*inp)) <= atol
                    elif "digit_distance_nums" == ENTRY:
                        exact_match = exact_match or out == digit_distance_nums(*inp)
                    elif ENTRY in SET_EQ:
                        exact_match = set(out) == set(exp)
                    elif ENTRY in NOT_NONE:
                        if isinstance(out, bool):
                            exact_match = out == exp
                        else:
                            exact_match = exp == (out is not None)
                if DATASET == "humaneval":
                    if "find_zero" == ENTRY:
                        assert abs(poly(*inp, out)) <= atol
                        continue
                if atol == 0 and is_floats(exp):
                    atol = 1e-6
                if not exact_match and atol != 0:
                    assert type(out) == type(exp)
                    if isinstance(exp, (list, tuple)):
                        assert len(out) == len(exp)
                    assert allclose(out, exp, atol)
                else:
                    assert exact_match
            except BaseException as e:
                raise AssertionError("%s input %d: %s" % (phase, i, type(e).__name__ + (": %s" % e if str(e) else ""))) from None

    base = json.loads(%BASE%)
    plus = json.loads(%PLUS%)
    if DATASET == "mbpp":
        base, plus = deserialize(base), deserialize(plus)
    base_exp, base_time = trusted_exec(base)
    plus_exp, plus_time = trusted_exec(plus)
    check("base", base, base_exp, base_time)
    check("plus", plus, plus_exp, plus_time)

_evalplus_check()
`;
