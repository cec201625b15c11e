/**
 * A new slice size for a running batch (`waymark configure --slice`). A slice must end where a
 * workflow run ends, so S must divide N (checkpointEvery); configure cannot change N, so the
 * spec's own advice ("use checkpointEvery X") would send the user to a setting they cannot reach.
 * This names the slice sizes that fit instead. Pure, for the update's validator in workflow code.
 */
export function sliceSizeProblem(sliceSize: number, checkpointEvery: number): string | undefined {
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1 || checkpointEvery % sliceSize === 0) return undefined;
  const below = nearestDivisor(checkpointEvery, Math.min(sliceSize, checkpointEvery), -1);
  const above = sliceSize < checkpointEvery ? nearestDivisor(checkpointEvery, sliceSize, 1) : undefined;
  const choices = [below, above].filter((d): d is number => d !== undefined);
  return (
    `slice size ${sliceSize} does not divide this batch's checkpointEvery (${checkpointEvery} items per workflow run), ` +
    `which cannot change while it runs; choose a slice size that divides it, e.g. ${choices.join(' or ')}`
  );
}

function nearestDivisor(n: number, from: number, step: 1 | -1): number | undefined {
  for (let d = from; d >= 1 && d <= n; d += step) if (n % d === 0) return d;
  return undefined;
}
