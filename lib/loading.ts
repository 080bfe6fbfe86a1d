/**
 * WeChat's loading toast for the calls that ask for it (`showLoading`): shown while any of them runs, hidden when the
 * last one settles — success or failure — and while the login UI is on screen (a toast over the AuthModal would hide
 * it). Never left on screen.
 */
import type { WxAdapter } from './runtime';

export class LoadingToast {
  private readonly titles: string[] = [];
  private paused = false;
  private shown = false;

  /** @param wx a getter: the `wx` in force (it may change with `config()`). */
  constructor(private readonly wx: () => WxAdapter | undefined) {}

  /** Shows the toast for one call; returns the function that ends it (idempotent). */
  show(title: string): () => void {
    this.titles.push(title);
    this.render();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.titles.splice(this.titles.indexOf(title), 1);
      this.render();
    };
  }

  /** The login UI is shown (true) or gone (false). */
  pause(paused: boolean): void {
    this.paused = paused;
    this.render();
  }

  private render(): void {
    const wx = this.wx();
    const want = this.titles.length > 0 && !this.paused;
    if (!wx || want === this.shown) return;
    this.shown = want;
    if (want && typeof wx.showLoading === 'function') wx.showLoading({ title: this.titles[this.titles.length - 1], mask: true });
    if (!want && typeof wx.hideLoading === 'function') wx.hideLoading();
  }
}
