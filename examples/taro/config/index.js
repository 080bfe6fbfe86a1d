const { defineConfig } = require('@tarojs/cli');

module.exports = defineConfig({
  projectName: 'login-kit-example-taro',
  designWidth: 750,
  deviceRatio: { 640: 2.34 / 2, 750: 1, 375: 2, 828: 1.81 / 2 },
  sourceRoot: 'src',
  outputRoot: 'dist',
  framework: 'react',
  compiler: 'webpack5',
  cache: { enable: false },
  mini: { postcss: { pxtransform: { enable: true, config: {} } } },
});
