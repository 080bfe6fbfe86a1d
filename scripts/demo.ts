/**
 * The headless demo: runs the built wepy 2 demo app (demo/dist) with the public test harness
 * (`miniprogram-login-kit/testing`: `launchApp`, the kit's UI answered through `KitUI`) against the package's
 * development backend — or, with `--base-url <url> --emulator <url>`, against a backend started separately (the
 * reference server of `npm run server`, or a team's own backend pointed at the WeChat emulator) — walking the login
 * flows a user would, and printing for each step the `wx` calls, the backend answers and what the page shows. Exits
 * non-zero if any step does not end as expected. Against a separate backend, the steps that need control of the
 * backend (its clock, a second mini-program registered with the silent policy) are skipped, and say so.
 * Run with `npm run demo` (which builds the kit and the demo first); `npm run demo -- --base-url … --emulator …`.
 */
import path from 'path';
import { connectBackend, launchApp, startBackend, type Backend, type DevBackend, type LaunchedApp } from '../tooling/testing';

const root = path.resolve(__dirname, '../..');
const appDir = path.join(root, 'demo/dist');

let step = 0;
let failures = 0;
let skipped = 0;
let serverSkewMs = 0;

function say(line: string) {
  console.log(`    ${line}`);
}

function check(what: string, ok: boolean) {
  say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

/** The second mini-program of the demo's Open Platform account, whose backend registers users silently. */
const SHOP = 'demo-shop';

/** `--base-url <url> --emulator <url>`: a backend started separately; both or neither. */
function argsOf(argv: string[]): { baseURL?: string; emulator?: string } {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const args = { baseURL: value('--base-url'), emulator: value('--emulator') };
  if (!args.baseURL !== !args.emulator) {
    console.error('usage: npm run demo [-- --base-url <backend URL> --emulator <WeChat emulator URL>]');
    process.exit(1);
  }
  return args;
}

async function run(title: string, body: () => Promise<void>, needs?: string) {
  step++;
  console.log(`\n${step}. ${title}`);
  if (needs) {
    skipped++;
    say(`skipped: ${needs}`);
    return;
  }
  try {
    await body();
  } catch (error) {
    failures++;
    say(`FAIL ${(error as Error).message}`);
  }
}

async function main() {
  const args = argsOf(process.argv.slice(2));
  const own: DevBackend | null = args.baseURL
    ? null
    : await startBackend({ otherSources: [{ source: SHOP, registration: 'silent' }], now: () => Date.now() + serverSkewMs });
  const backend: Backend = own ?? connectBackend(args.baseURL!, args.emulator!);
  const separate = own ? undefined : 'needs control of the backend (run without --base-url)';
  console.log(
    own
      ? `development backend on ${backend.baseURL}, WeChat stand-in on ${backend.wechat.baseURL}, demo app ${path.relative(root, appDir)}`
      : `backend on ${backend.baseURL} (started separately), WeChat emulator on ${backend.wechat.baseURL}, demo app ${path.relative(root, appDir)}`,
  );
  await backend.wechat.addUser('alice', { nickName: 'Alice', unionid: 'union-alice' });
  await backend.wechat.addUser('bob', { nickName: 'Bob' });

  /** A phone of `user` running the demo app as mini-program `source` (default `demo-app`). */
  const device = (user: string, source = 'demo-app', privacyAgreed = true) =>
    launchApp(appDir, {
      backend,
      user,
      appid: source === SHOP ? own?.appids[SHOP] : undefined,
      extConfig: { baseURL: backend.baseURL, source },
      privacyAgreed,
      log: say,
    });
  const sent = (app: LaunchedApp, what: string) => app.received.filter((r) => `${r.method} ${r.path}` === what).length;
  const tap = (app: LaunchedApp, selector: string) => {
    say(`user taps ${selector}`);
    return app.tap(selector);
  };

  await run('A new user logs in through the AuthModal', async () => {
    const alice = await device('alice');
    await alice.open('/pages/index');
    say(`page shows "${await alice.waitForText('.greeting')}" (silent login failed quietly: no UI)`);
    await tap(alice, '#comment-btn');
    const ui = await alice.loginUI();
    say(`AuthModal shows "${ui.title()}" / "${ui.content()}"`);
    check('the page tips ($loginUserAuthTips) set the title', ui.title() === '登录后评论');
    say('user taps the avatar button and picks a photo (chooseAvatar gives a temporary file)');
    await ui.chooseAvatar();
    say('user types the nickname "Alice" and submits the form');
    await ui.typeNickname('Alice');
    await ui.submit();
    const status = await alice.waitForText('.status');
    say(`page shows "${status}"`);
    check('the comment was posted after login', status === '评论成功');
    check('one wx.login for the whole flow', alice.calls.login === 1);
    check('the page got the AuthModal result event through e.$wx.detail', alice.text('.last-auth') === '授权方式：profile');
    const order = alice.received.map((r) => `${r.method} ${r.path}`);
    check(
      'the temporary avatar was uploaded before the authorize call',
      order.indexOf('UPLOAD /auth/avatar') < order.lastIndexOf('POST /auth/login'),
    );
  });

  await run('A new user logs in through the login page', async () => {
    const bob = await device('bob');
    await bob.open('/pages/favorite');
    await tap(bob, '#favorite-btn');
    await bob.waitForRoute('pages/login');
    const ui = await bob.loginUI();
    say(`login page shows "${ui.title()}" / "${ui.content()}"`);
    check(
      'the login page shows the merged tips (page title, config content)',
      ui.title() === '登录后收藏' && ui.content() === '登录后即可评论、收藏，并看到为你推荐的内容',
    );
    say('user taps the getUserInfo button');
    await ui.allowUserInfo();
    await bob.waitForRoute('pages/favorite');
    const status = await bob.waitForText('.status');
    say(`back on ${bob.route}, page shows "${status}"`);
    check('the favorite was saved after login', status === '收藏成功');
    check('the login page closed itself', bob.stack.length === 1);
  });

  await run('A returning user logs in silently (new device, empty storage)', async () => {
    const alice = await device('alice');
    await alice.open('/pages/index');
    const greeting = await alice.waitForText('.greeting');
    say(`page shows "${greeting}"`);
    check('personalised content without any UI', greeting === '欢迎回来，Alice');
    check('one wx.login, no AuthModal', alice.calls.login === 1 && !alice.hasLoginUI());
  });

  let busy: LaunchedApp | null = null;
  await run('Ten concurrent requests share one login', async () => {
    const app = (busy = await device('alice'));
    await app.open('/pages/favorite');
    for (let i = 0; i < 10; i++) await tap(app, '#favorite-btn');
    await app.waitFor('ten favorites', () => app.calls.request === 11 && app.inFlight === 0);
    const status = app.text('.status');
    say(`page shows "${status}"`);
    check('one wx.login and one /auth/login for ten requests', app.calls.login === 1 && app.calls.request === 11);
    check('every request succeeded', status === '收藏成功');
  });

  await run(
    'An expired session is re-established transparently',
    async () => {
      if (!busy) throw new Error('needs the previous step');
      const app: LaunchedApp = busy;
      serverSkewMs += 901_000;
      say('(server clock moves 901 s ahead: every access token it issued has expired)');
      const before = { login: app.calls.login, request: app.calls.request, refresh: sent(app, 'POST /auth/refresh') };
      await tap(app, '#favorite-btn');
      await app.waitFor('the retried favorite', () => app.calls.request === before.request + 3 && app.inFlight === 0);
      check(
        'request -> 401 TOKEN_EXPIRED -> one refresh -> the request replayed with the new token',
        sent(app, 'POST /auth/refresh') === before.refresh + 1,
      );
      check('no wx.login and no UI needed', app.calls.login === before.login);
      check('the user saw only success', app.text('.status') === '收藏成功');
    },
    separate,
  );

  await run(
    'The token expires while the user is busy: ten requests, one refresh',
    async () => {
      if (!busy) throw new Error('needs the previous step');
      const app: LaunchedApp = busy;
      serverSkewMs += 901_000;
      say('(server clock moves 901 s ahead again)');
      const before = { login: app.calls.login, request: app.calls.request, refresh: sent(app, 'POST /auth/refresh') };
      for (let i = 0; i < 10; i++) await tap(app, '#favorite-btn');
      await app.waitFor('ten replayed favorites', () => app.calls.request === before.request + 21 && app.inFlight === 0);
      check('ten 401s -> exactly one /auth/refresh -> ten replays', sent(app, 'POST /auth/refresh') === before.refresh + 1);
      check('at most 10 wx.request in flight', app.maxInFlight <= 10);
      check('no wx.login, and the user saw only success', app.calls.login === before.login && app.text('.status') === '收藏成功');
    },
    separate,
  );

  await run('A refusal is recovered through the permission panel', async () => {
    await backend.wechat.addUser('dave', { nickName: 'Dave' });
    const dave = await device('dave');
    await dave.open('/pages/favorite');
    await tap(dave, '#favorite-btn');
    await dave.waitForRoute('pages/login');
    say("user taps the getUserInfo button and refuses in WeChat's dialog");
    await (await dave.loginUI()).refuseUserInfo();
    await dave.waitFor('the permission panel', () => dave.calls.openSetting === 1);
    await dave.waitForRoute('pages/login');
    say('back on the login page: this time the user allows');
    await (await dave.loginUI()).allowUserInfo();
    await dave.waitForRoute('pages/favorite');
    const status = await dave.waitForText('.status');
    say(`page shows "${status}"`);
    check(
      'showModal with the denied tips, then openSetting from its confirm tap',
      dave.calls.showModal === 1 && dave.calls.openSetting === 1,
    );
    check('the login finished after the permission was granted', status === '收藏成功');
  });

  await run("WeChat's official privacy popup, then a phone-number login", async () => {
    await backend.wechat.addUser('erin', { nickName: 'Erin' });
    const erin = await device('erin', 'demo-app', false);
    await erin.open('/pages/phone');
    await tap(erin, '#phone-btn');
    const ui = await erin.loginUI();
    say(`AuthModal shows "${ui.title()}"; the user taps its phone button, and WeChat first needs the privacy agreement`);
    const given = await ui.givePhoneNumber('13600000000');
    check(
      "the kit left the agreement to WeChat's official popup (no listener of its own: the app's privacy handling is untouched)",
      given && !erin.calls.onNeedPrivacyAuthorization,
    );
    const status = await erin.waitForText('.status');
    say(`page shows "${status}"`);
    check('the server exchanged the code and bound the phone', status === '已绑定手机号');
  });

  await run(
    'No-feeling login in a second mini-program: browse with no prompt, then step up for a profile and a phone',
    async () => {
      await backend.wechat.addUser('carol', { nickName: 'Carol' });
      const carol = await device('carol', SHOP);
      await carol.open('/pages/index');
      say(`page shows "${await carol.waitForText('.greeting')}": the backend registered the new user silently`);
      check('a new user browses with no prompt and one wx.login', carol.calls.login === 1 && !carol.hasLoginUI());
      await tap(carol, '#comment-btn');
      const ui = await carol.loginUI();
      await carol.waitFor('the profile step-up', () => ui.asksForProfile());
      say(`AuthModal asks for a profile only now: "${ui.title()}"`);
      await ui.completeProfile('Carol');
      const commented = await carol.waitForText('.status');
      say(`page shows "${commented}"`);
      check(
        'the comment went out after the profile step-up (POST /auth/bind)',
        commented === '评论成功' && sent(carol, 'POST /auth/bind') > 0,
      );
      await carol.open('/pages/order');
      await tap(carol, '#order-btn');
      const phoneUI = await carol.loginUI();
      say(`AuthModal asks for the phone number where the order needs it: "${phoneUI.title()}"`);
      await phoneUI.givePhoneNumber('13700000099');
      const ordered = await carol.waitForText('.status');
      say(`page shows "${ordered}"`);
      check('the order went out after the phone step-up, still with one wx.login', ordered === '下单成功' && carol.calls.login === 1);
    },
    separate,
  );

  await run(
    'One person, one account across the app family: Alice opens the second mini-program',
    async () => {
      const alice = await device('alice', SHOP);
      await alice.open('/pages/index');
      const greeting = await alice.waitForText('.greeting');
      say(`page shows "${greeting}": another openid, the same unionid, the same account`);
      check('recognised by unionid, logged in silently with no UI', greeting === '欢迎回来，Alice' && !alice.hasLoginUI());
    },
    separate,
  );

  await run('Settings: logout, then a forced re-login through the UI', async () => {
    const alice = await device('alice');
    await alice.open('/pages/index');
    await alice.waitForText('.greeting', '欢迎回来，Alice');
    await alice.open('/pages/settings');
    say(`settings page shows "${await alice.waitForText('.user')}"`);
    await tap(alice, '#logout-btn');
    await alice.waitForText('.status', '已退出登录');
    check('logout revoked the session on the server', sent(alice, 'POST /auth/logout') === 1);
    const loginsBefore = alice.calls.login ?? 0;
    await tap(alice, '#relogin-btn');
    const ui = await alice.loginUI();
    await alice.waitFor('the profile form', () => ui.asksForProfile());
    say(`AuthModal shows "${ui.title()}": after a deliberate logout, no silent login brings the session back`);
    check('no silent login was tried after the logout', (alice.calls.login ?? 0) === loginsBefore);
    await ui.completeProfile('Alice');
    const status = await alice.waitForText('.status', '已重新登录');
    say(`page shows "${status}" / "${alice.text('.user')}"`);
    check('logged in again as the same user', alice.text('.user') === '当前用户：Alice');
  });

  await run(
    'Settings: delete the account (注销账号), then the same WeChat user arrives as a new user and the freed phone is bound by another account',
    async () => {
      const PHONE = '13900000077';
      await backend.wechat.addUser('frank', { nickName: 'Frank' });
      await backend.wechat.addUser('grace', { nickName: 'Grace' });
      const frank = await device('frank');
      await frank.open('/pages/phone');
      await tap(frank, '#phone-btn');
      await (await frank.loginUI()).givePhoneNumber(PHONE);
      check(`Frank logged in with his phone number ${PHONE}`, (await frank.waitForText('.status')) === '已绑定手机号');
      const grace = await device('grace');
      await grace.open('/pages/phone');
      await tap(grace, '#phone-btn');
      await (await grace.loginUI()).givePhoneNumber(PHONE);
      const taken = await grace.waitForText('.status');
      say(`Grace's page shows "${taken}"`);
      check("another account cannot bind Frank's number (409 ACCOUNT_CONFLICT)", taken === '未登录：ACCOUNT_CONFLICT');

      const phone = await device('frank'); // Frank again, on his phone
      await phone.open('/pages/settings');
      const deletes = () => phone.received.filter((r) => `${r.method} ${r.path}` === 'POST /auth/account/delete');
      phone.permissions.modal = 'cancel';
      await tap(phone, '#delete-btn');
      await phone.waitForText('.status', '已取消注销');
      check('cancelling the confirmation sends nothing and calls no wx.login', deletes().length === 0 && !phone.calls.login);
      phone.permissions.modal = 'confirm';
      await tap(phone, '#unfinished-order-btn');
      await phone.waitForText('.status', '有一个未完成的订单');
      const loginsBefore = phone.calls.login ?? 0;
      await tap(phone, '#delete-btn');
      const vetoed = await phone.waitFor('the veto', () => (phone.text('.status') ?? '').startsWith('无法注销') && phone.text('.status'));
      say(`page shows "${vetoed}"`);
      check(
        "the backend's hook vetoed (409 DELETION_VETOED) and the page shows its reason",
        vetoed === '无法注销：您有未完成的订单，请完成后再注销' && deletes().length === 1 && deletes()[0].status === 409,
      );
      check('the deletion was proved with a wx.login code made for it', (phone.calls.login ?? 0) === loginsBefore + 1);
      await tap(phone, '#unfinished-order-btn');
      await phone.waitForText('.status', '订单已完成');
      await tap(phone, '#delete-btn');
      const done = await phone.waitFor(
        'the deletion',
        () => (phone.text('.status') ?? '').startsWith('账号已注销') && phone.text('.status'),
      );
      say(`page shows "${done}" / "${phone.text('.user')}"`);
      check(
        'the account was deleted (200) and the kit logged out',
        deletes().length === 2 && deletes()[1].status === 200 && phone.text('.user') === '未登录',
      );
      check(
        'the kit fired logout, then accountDeleted',
        phone.events
          .map((e) => e.type)
          .filter((t) => t === 'logout' || t === 'accountDeleted')
          .join() === 'logout,accountDeleted',
      );

      const again = await device('frank'); // the same WeChat user comes back
      await again.open('/pages/index');
      await again.waitForText('.greeting');
      await tap(again, '#comment-btn');
      const ui = await again.loginUI();
      await again.waitFor('the profile form', () => ui.asksForProfile());
      await ui.completeProfile('Frank');
      await again.waitForText('.status', '评论成功');
      const login = again.events.find((e) => e.type === 'login');
      check('the same WeChat user logs in as a new user', login?.isNewUser === true);

      const later = await device('grace');
      await later.open('/pages/phone');
      await tap(later, '#phone-btn');
      await (await later.loginUI()).givePhoneNumber(PHONE);
      const bound = await later.waitForText('.status');
      say(`Grace's page shows "${bound}"`);
      check('the freed number is bound by another account', bound === '已绑定手机号');
    },
  );

  await backend.close();
  const note = skipped ? ` (${skipped} step(s) skipped against a separate backend)` : '';
  console.log(`\n${failures === 0 ? `demo finished: every step passed${note}` : `demo FAILED: ${failures} check(s) failed`}`);
  console.log(
    `the built demo is ready for WeChat DevTools: open ${path.relative(process.cwd(), root) || '.'} (project.config.json -> demo/dist)`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
