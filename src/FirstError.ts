/**
 * For a loop that tells several parties of something, where one that throws must not keep the
 * others from hearing it (nor leave the loop's own state half done): each call is run through
 * {@link run}, and once the loop is over {@link rethrow} throws the first error, if any.
 */
export class FirstError {
  #failed = false;
  #error: unknown;

  run(call: () => unknown): void {
    try {
      call();
    } catch (error) {
      if (this.#failed) return;
      this.#failed = true;
      this.#error = error;
    }
  }

  rethrow(): void {
    if (this.#failed) throw this.#error;
  }
}
