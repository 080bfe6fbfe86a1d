/**
 * examples/taro (Taro 4, React, webpack 5), built by `taro build --type weapp` and walked, then built as in development
 * (`--watch`) and walked again: see test/helpers/example-walk.
 */
import { walkExample } from '../helpers/example-walk';

walkExample({ name: 'taro', output: 'dist', hubFile: 'vendors.js' });
// The build a Taro team runs all day: `taro build --watch` prebundles dependencies; the example's config keeps the kit
// out of the prebundle (README "Taro"), so there too the kit is one copy and nothing warns.
walkExample({ name: 'taro', output: 'dist', hubFile: 'vendors.js', dev: true });
