export async function verifyWarmCold(): Promise<{ ratio: number; describe(): string }> {
  throw new Error('not written yet');
}
