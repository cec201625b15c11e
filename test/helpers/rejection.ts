/** The error `promise` rejects with; a promise that resolves fails the test, saying what was expected. */
export async function rejectionOf(promise: Promise<unknown>, expected = 'the promise to reject'): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected ${expected}, but it resolved`);
}
