// babel-preset-taro: React, compiled by webpack 5.
module.exports = { presets: [['taro', { framework: 'react', ts: false, compiler: 'webpack5' }]] };
