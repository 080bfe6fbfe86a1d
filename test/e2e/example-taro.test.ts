/** examples/taro (Taro 4, React, webpack 5), built by `taro build --type weapp` and walked: see test/helpers/example-walk. */
import { walkExample } from '../helpers/example-walk';

walkExample({ name: 'taro', output: 'dist', hubFile: 'vendors.js' });
