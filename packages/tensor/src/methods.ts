// Installs the functions behind the Tensor methods (`x.add(y)` calls `add(x, y)`). tensor.ts
// cannot import the ops, which import it; the package index imports this module once.

import { installTensorMethods } from './tensor.js';
import * as ops from './ops/index.js';
import { backward } from './autograd.js';
import { fromTypedArray } from './creation.js';

installTensorMethods({ ...ops, backward, fromTypedArray });
