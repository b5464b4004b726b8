/**
 * Errors that are the user's to fix (a bad file, a bad flag, a model that does not fit).
 * The CLI prints `message` on one line and exits non-zero, without a stack trace.
 * Anything else that escapes is a bug in codellama-ts and is printed with its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * A malformed or unsupported model/tokenizer file.
 * The message always names the file, the byte offset and the field that is wrong.
 */
export class FormatError extends UserError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: at byte ${offset}, ${field}: ${problem}`);
    this.name = "FormatError";
  }
}
