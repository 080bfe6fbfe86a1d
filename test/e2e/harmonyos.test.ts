/**
 * HarmonyOS WeChat (`platform: 'ohos'`, and the PC client `ohos_pc`; WeChat's `wx.getDeviceInfo` doc): the kit decides
 * nothing by platform — no "not iOS means Android" — so a phone that reports either one logs in, steps up and recovers
 * from a refusal exactly as an iPhone does. Against the reference server and the emulator, real HTTP.
 */
import type { WeChatEmulator } from '../../emulator/wechat';
import { startStack, type Stack } from '../../scripts/stack';
import { createNodeWx } from '../../emulator/node-wx';
import { LoginKit } from '../../lib/login-kit';
import { resultFromPhoneNumber, resultFromUserInfo } from '../../components/common/auth-events';
import type { AuthResult, LoginEvent } from '../../lib/types';

let stack: Stack;
let emulator: WeChatEmulator;

beforeAll(async () => {
  stack = await startStack();
  ({ emulator } = stack);
});
afterAll(() => stack.close());

const HARMONY = {
  ohos: { platform: 'ohos', brand: 'HUAWEI', model: 'Mate 70', system: 'HarmonyOS 5.0.0' },
  ohos_pc: { platform: 'ohos_pc', brand: 'HUAWEI', model: 'MateBook', system: 'HarmonyOS 5.0.0' },
};

describe.each(Object.keys(HARMONY) as Array<keyof typeof HARMONY>)('on HarmonyOS WeChat (platform %s)', (platform) => {
  function phone(openid: string, answers: Array<(openid: string) => AuthResult>) {
    const wx = createNodeWx({ emulator, openid, device: HARMONY[platform] });
    const asked: string[] = [];
    const kit = new LoginKit();
    kit.config({
      source: 'demo-app',
      baseURL: stack.baseURL,
      wx,
      userAuthHandler: async ({ tips }) => {
        asked.push(tips.authType);
        return answers.shift()!(openid);
      },
      logger: { warn: jest.fn(), error: jest.fn() },
    });
    const events: LoginEvent[] = [];
    kit.onStateChange((event) => events.push(event));
    return { kit, wx, asked, events };
  }
  const userInfo = (openid: string) => resultFromUserInfo(emulator.userInfoDetail(openid));

  it('reports itself as HarmonyOS, logs a new user in through the UI, then a returning one silently', async () => {
    const first = phone(`${platform}-user`, [userInfo]);
    expect(first.wx.getDeviceInfo().platform).toBe(platform);
    expect((await first.kit.login()).isNewUser).toBe(true);
    const again = phone(`${platform}-user`, []);
    expect((await again.kit.login()).isNewUser).toBe(false);
    expect(again.asked).toEqual([]);
  });

  it('binds a phone number in a step-up', async () => {
    const number = platform === 'ohos' ? '13700000071' : '13700000072';
    const { kit, asked } = phone(`${platform}-phone`, [userInfo, (openid) => resultFromPhoneNumber(emulator.phoneDetail(openid, number))]);
    const user = await kit.require('phone');
    expect(user.phoneBound).toBe(true);
    expect(asked).toEqual(['profile', 'phone']);
  });

  it('recovers a refused authorization through the permission panel, as on any phone', async () => {
    const refused = (): AuthResult => ({ succeeded: false, authType: 'userInfo', errMsg: 'getUserInfo:fail auth deny' });
    const { kit, wx, asked } = phone(`${platform}-refusal`, [refused, userInfo]);
    const state = await kit.login({ tips: { authType: 'userInfo' } });
    expect(state.user).toBeTruthy();
    expect(wx.calls.openSetting).toBe(1);
    expect(asked).toEqual(['userInfo', 'userInfo']);
  });
});
