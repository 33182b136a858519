import type { HostTensor } from '../../runtime/tensors.js';
import { ClipInputError } from './text-model.js';

/** Rows of token ids (e.g. ClipTokenizer.encodeBatchForModel(...).inputIds) as an int64 [B,S] runtime tensor. */
export function clipInputIdsTensor(rows: readonly (readonly number[])[]): HostTensor<'int64'> {
  const length = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== length) throw new ClipInputError(`input ids: row ${i} has ${r.length} ids, row 0 has ${length} (pad them to one length)`);
  });
  return { dtype: 'int64', dims: [rows.length, length], data: BigInt64Array.from(rows.flat(), (id) => BigInt(id)) };
}
