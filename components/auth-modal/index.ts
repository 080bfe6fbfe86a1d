/**
 * AuthModal: a login dialog to drop into any page (`<auth-modal id="auth-modal"/>`). The default login UI uses it
 * when the current page has one. `open(tips)` shows it and resolves with the user's `AuthResult`; the same result is
 * published on `userAuthHub` (to its subscribers: it answers no request waiting there) and as the `result` event.
 * Closing it (mask, cancel button, page unload) is a cancel. Each `open()` is one question answered once: a second
 * one waits its turn and is shown when the first is answered, so a phone question never receives a profile answer.
 * It asks for what `tips.authType` says (profile form, phone, classic userInfo) and shows the privacy agreement when
 * WeChat asks for it while the modal is open. Thin over the hub and the core: all login logic stays in `lib/`.
 */
import { cancelledResult } from '../common/auth-events';
import { userAuthHub } from '../../hub/index';
import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import type { AuthResult, AuthTips } from '../../lib/types';
import { authBehavior, EMPTY_PROFILE } from '../common/auth-behavior';
import type { AuthModalData } from './types';

/** One `open()`: the tips it shows, its promise, and how to settle it. */
interface Question {
  tips: AuthTips;
  promise: Promise<AuthResult>;
  resolve: (result: AuthResult) => void;
}

Component<
  AuthModalData,
  WechatMiniprogram.Component.PropertyOption,
  {
    open(tips?: Partial<AuthTips>): Promise<AuthResult>;
    withdraw(answer: Promise<AuthResult>): boolean;
    finish(result: AuthResult): void;
    present(): void;
  },
  [typeof authBehavior],
  { questions: Question[] }
>({
  behaviors: [authBehavior],
  externalClasses: ['custom-class'],
  data: { visible: false, tips: { ...DEFAULT_AUTH_TIPS }, profile: { ...EMPTY_PROFILE }, privacy: { visible: false, contractName: '' } },
  lifetimes: {
    created() {
      this.questions = [];
    },
    detached() {
      // Every question still open or waiting gets its own cancel: nothing waits forever on a page that is gone.
      const questions = this.questions.splice(0);
      if (!questions.length) return;
      this.hideAuthUi();
      for (const question of questions) {
        const result = cancelledResult(question.tips.authType, 'the AuthModal was removed');
        question.resolve(result);
        userAuthHub.publish(result);
        this.triggerEvent('result', result);
      }
    },
  },
  methods: {
    /**
     * Asks one question with `tips` — the tips the core merged for this login (defaults ← `config.tips` ← page ← call),
     * shown as they are; keys missing from a partial set take the defaults. Resolves with the user's answer to this
     * question (never rejects). While another question is shown, this one waits its turn and is shown when that one
     * is answered; each promise gets only its own question's answer.
     */
    open(tips?: Partial<AuthTips>): Promise<AuthResult> {
      let resolve!: (result: AuthResult) => void;
      const promise = new Promise<AuthResult>((r) => (resolve = r));
      this.questions.push({ tips: { ...DEFAULT_AUTH_TIPS, ...tips }, promise, resolve });
      if (this.questions.length === 1) this.present();
      return promise;
    },
    /**
     * Takes back the question `answer` (a promise `open()` returned) without answering it: nothing is published, and
     * `answer` resolves with a cancel ("the question moved to another page") that the default UI ignores — it asks the
     * same question on the page the user is on. If it was shown, the modal closes (or shows the next question).
     * Returns false when `answer` is not one of this modal's open questions.
     */
    withdraw(answer: Promise<AuthResult>): boolean {
      const index = this.questions.findIndex((question) => question.promise === answer);
      if (index < 0) return false;
      const [question] = this.questions.splice(index, 1);
      question.resolve(cancelledResult(question.tips.authType, 'the question moved to another page'));
      if (index === 0) {
        this.hideAuthUi();
        this.present();
      }
      return true;
    },
    /**
     * Answers the question shown with `result` (its promise, `userAuthHub`'s subscribers, the `result` event), then
     * shows the next question or closes; no-op when none is shown.
     */
    finish(result: AuthResult) {
      const question = this.questions.shift();
      if (!question) return;
      this.hideAuthUi();
      question.resolve(result);
      userAuthHub.publish(result);
      this.triggerEvent('result', result);
      this.present();
    },
    /** Shows the first question in line, or closes the modal when there is none. */
    present() {
      const question = this.questions[0];
      if (!question) return this.setData({ visible: false });
      this.setData({ visible: true, tips: question.tips });
      this.showAuthUi(question.tips.authType);
    },
  },
});
