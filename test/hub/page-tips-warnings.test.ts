/**
 * Page tips that would be lost without a word — the README's `methods: { $loginUserAuthTips() {…} }` pasted into a
 * native `Page()`, or a misspelt tip key — are named in a warning that says where they belong, in development and
 * trial versions (`envVersion` not `release`), never in a release.
 */
import { currentPageTips, type PageLike } from '../../hub/page-ui';
import { LoginKit } from '../../lib/login-kit';
import type { AuthResult, UserAuthRequest } from '../../lib/types';
import { createFakeWx, createLogger } from '../helpers/fakes';

const cancelled: AuthResult = { succeeded: false, errMsg: 'cancel' };

function kitOn(page: PageLike, envVersion: 'develop' | 'trial' | 'release') {
  const fake = createFakeWx();
  const wx = { ...fake.wx, getAccountInfoSync: () => ({ miniProgram: { envVersion } }) };
  (globalThis as Record<string, unknown>).wx = wx;
  const logger = createLogger();
  const shown: UserAuthRequest[] = [];
  const kit = new LoginKit();
  kit.config({
    source: 'app',
    baseURL: 'https://api.test',
    wx,
    logger,
    pageTips: () => currentPageTips({ getCurrentPages: () => [page], navigateTo: () => undefined }),
    userAuthHandler: async (request) => {
      shown.push(request);
      return cancelled;
    },
  });
  return { kit, logger, shown };
}

afterEach(() => {
  delete (globalThis as Record<string, unknown>).wx;
  jest.restoreAllMocks();
});

describe('tips inside "methods" of a native Page()', () => {
  const page: PageLike = { route: 'pages/index', methods: { $loginUserAuthTips: () => ({ title: '登录后评论' }) } };

  it.each(['develop', 'trial'] as const)('are named in a warning with the fix (%s version), and the default title shows', async (env) => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { kit, shown } = kitOn(page, env);
    await kit.login().catch(() => undefined);
    expect(shown[0].tips.title).toBe('登录授权');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('pages/index has $loginUserAuthTips inside "methods"'));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('put it at the top level of Page({ ... })'));
  });

  it('say nothing in a release', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { kit } = kitOn(page, 'release');
    await kit.login().catch(() => undefined);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('a misspelt key in page tips', () => {
  const page: PageLike = { route: 'pages/index', $loginUserAuthTips: () => ({ titel: '登录后评论', content: '评论需要登录' }) };

  it('is named in a warning with the known keys, and the other tips still show', async () => {
    const { kit, logger, shown } = kitOn(page, 'develop');
    await kit.login().catch(() => undefined);
    expect(shown[0].tips.content).toBe('评论需要登录');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/the page's \$loginUserAuthTips\(\) has an unknown tip "titel"; ignored\. Known: title, /),
    );
  });

  it('is not reported in a release', async () => {
    const { kit, logger } = kitOn(page, 'release');
    await kit.login().catch(() => undefined);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});
