/**
 * `npm run emulator -- [--port 4000]`: the WeChat emulator alone on 127.0.0.1, for a backend under development in any
 * language: point its WeChat API base URL, appid and secret at what this prints, then run `npm run contract-check`.
 */
import { WeChatEmulator } from '../emulator/wechat';

const index = process.argv.indexOf('--port');
const port = index >= 0 ? Number(process.argv[index + 1]) : 4000;
const emulator = new WeChatEmulator();
emulator.listen(port).then(
  (url) => console.log(`WeChat emulator on ${url}\n  appid  ${emulator.appid}\n  secret ${emulator.secret}`),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
