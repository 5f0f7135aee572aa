/** Dataset selection for the CLI: `--data fashion-mnist | cifar10 | folder` (+ `--data-dir`). */
import { ValueError } from '../runtime/errors.js';
import type { ImageSet } from '../data/formats.js';
import { take } from '../data/formats.js';
import { DEBIAN_FASHION_MNIST, readCifar10, readFashionMnist, readImageFolder } from '../data/node-files.js';

export interface DataArgs {
  data: string;
  dataDir?: string;
  subset?: number;
  testSubset?: number;
  size?: number;
}

export function loadSplits(a: DataArgs): { train: ImageSet; test: ImageSet; flip: boolean } {
  let train: ImageSet;
  let test: ImageSet;
  let flip = true;
  switch (a.data) {
    case 'fashion-mnist':
    case 'mnist':
      train = readFashionMnist('train', a.dataDir ?? DEBIAN_FASHION_MNIST);
      test = readFashionMnist('test', a.dataDir ?? DEBIAN_FASHION_MNIST);
      flip = a.data === 'fashion-mnist'; // clothes are mirror-symmetric, digits are not
      break;
    case 'cifar10':
      if (!a.dataDir) throw new ValueError('--data cifar10 needs --data-dir (the folder with data_batch_*.bin)');
      train = readCifar10('train', a.dataDir);
      test = readCifar10('test', a.dataDir);
      break;
    case 'folder':
      if (!a.dataDir) throw new ValueError('--data folder needs --data-dir with train/ and test/ sub-folders of class folders');
      train = readImageFolder(`${a.dataDir}/train`, { size: a.size ?? 32 });
      test = readImageFolder(`${a.dataDir}/test`, { size: a.size ?? 32 });
      break;
    default:
      throw new ValueError(`unknown dataset '${a.data}'; use fashion-mnist, mnist, cifar10 or folder`);
  }
  return { train: a.subset ? take(train, a.subset) : train, test: a.testSubset ? take(test, a.testSubset) : test, flip };
}
