// The Node headers installed beside this Node (include/node), when there are any: node-gyp
// builds against them with --nodedir and needs no download.
'use strict';
const fs = require('fs');
const path = require('path');

module.exports = function localNodedir() {
  if (process.env.npm_config_nodedir) return null;
  const headers = path.resolve(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
  return fs.existsSync(headers) ? path.resolve(headers, '..', '..', '..') : null;
};
