// @mha/backend-tfjs on its own (issue 18: it must bundle for the browser with no bundler flags).
import { tfjsCpu } from '@mha/backend-tfjs';

console.log(tfjsCpu.name);
