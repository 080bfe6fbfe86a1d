import { useState } from 'react';
import Taro, { useLoad } from '@tarojs/taro';
import { Button, Text, View } from '@tarojs/components';
import { isLoginError, providePageTips } from 'miniprogram-login-kit';
import { baseURL } from '../../api';

export default function Index() {
  const [greeting, setGreeting] = useState('');
  const [status, setStatus] = useState('');

  useLoad(() => {
    // The AuthModal on this page shows these tips when a login asks.
    providePageTips(Taro.getCurrentInstance().page, { title: '登录后评论' });
    // Returning users are logged in without any prompt; new users see the public feed. This page talks through
    // Taro.request; the kit's interceptor (app.js) logs in and renews as needed.
    Taro.request({ url: `${baseURL}/api/feed`, loginOpts: { mode: 'silent' } }).then(
      (feed) => setGreeting(feed.data.greeting),
      () => setGreeting('欢迎'),
    );
  });

  const comment = async () => {
    try {
      const res = await Taro.request({ url: `${baseURL}/api/comments`, method: 'POST', data: { text: 'Taro' } });
      setStatus(res.statusCode === 201 ? '评论成功' : `HTTP ${res.statusCode}`);
    } catch (error) {
      setStatus(isLoginError(error) ? error.code : String(error));
    }
  };

  return (
    <View>
      <Text className="greeting">{greeting}</Text>
      <Button id="comment-btn" onClick={comment}>
        评论
      </Button>
      <Button id="favorite-link" onClick={() => Taro.navigateTo({ url: '/pages/favorite/index' })}>
        去收藏
      </Button>
      {status && <Text className="status">{status}</Text>}
      <auth-modal id="auth-modal" />
    </View>
  );
}
