import { defineConfig } from 'vite';
import uni from '@dcloudio/vite-plugin-uni';
import { loginKitUni } from 'miniprogram-login-kit/vite';

// loginKitUni(): for mp-weixin, the kit stays a require() and is copied to miniprogram_npm: one copy, one hub.
export default defineConfig({ plugins: [uni(), loginKitUni()] });
