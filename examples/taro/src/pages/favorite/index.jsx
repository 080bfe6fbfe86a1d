import { useState } from 'react';
import Taro, { useLoad } from '@tarojs/taro';
import { Button, Text, View } from '@tarojs/components';
import { Login, isLoginError, providePageTips } from 'miniprogram-login-kit';

// A page without AuthModal: a login from here opens the login page.
export default function Favorite() {
  const [status, setStatus] = useState('');
  useLoad(() => providePageTips(Taro.getCurrentInstance().page, { title: '登录后收藏' }));

  const favorite = async () => {
    try {
      const res = await Login.requestWithLogin({ url: '/api/comments', method: 'POST', data: { text: '收藏' } });
      setStatus(res.statusCode === 201 ? '收藏成功' : `HTTP ${res.statusCode}`);
    } catch (error) {
      setStatus(isLoginError(error) ? error.code : String(error));
    }
  };

  return (
    <View>
      <Button id="favorite-btn" onClick={favorite}>
        收藏
      </Button>
      {status && <Text className="status">{status}</Text>}
    </View>
  );
}
