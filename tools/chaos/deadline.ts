/** One time limit for a whole chaos run, so a stuck batch fails with what it was waiting for instead of hanging. */
export class Deadline {
  private readonly at: number;

  constructor(private readonly ms: number) {
    this.at = Date.now() + ms;
  }

  check(waitingFor: string): void {
    if (Date.now() > this.at) throw this.expired(waitingFor);
  }

  async race<T>(promise: Promise<T>, waitingFor: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.expired(waitingFor)), Math.max(0, this.at - Date.now()));
    });
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private expired(waitingFor: string): Error {
    return new Error(
      `the chaos run timed out after ${Math.round(this.ms / 1000)} s waiting for ${waitingFor}; raise --timeout-s if the machine is just slow`,
    );
  }
}
