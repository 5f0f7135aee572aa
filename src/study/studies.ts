/** The studies of `nfnet study`, by name. */
import { ValueError } from '../runtime/errors.js';
import { describeValue, didYouMean } from '../runtime/validate.js';
import { batchSizeStudy } from './batch-size.js';
import { normalizationStudy } from './normalization.js';
import { samStudy } from './sam.js';
import { scalingStudy } from './scaling.js';
import { speedStudy } from './speed.js';
import type { Study } from './types.js';

export const STUDIES: readonly Study[] = [normalizationStudy, batchSizeStudy, speedStudy, samStudy, scalingStudy];

export function studyNames(): string[] {
  return STUDIES.map((s) => s.name);
}

export function getStudy(name: unknown): Study {
  if (typeof name !== 'string') throw new ValueError(`study: the study name must be a string, got ${describeValue(name)}`);
  const s = STUDIES.find((x) => x.name === name.trim());
  if (!s) throw new ValueError(`study: unknown study '${name}'${didYouMean(name.trim(), studyNames())}; studies: ${studyNames().join(', ')}`);
  return s;
}
