# The layerfs Node-API addon: xattrs, device nodes, renameat2, mount(2) and the new mount API.
# Linux-only; native/build.js skips it elsewhere and the library falls back to pure JS.
{
  "targets": [
    {
      "target_name": "layerfs",
      "sources": [
        "src/addon.cc",
        "src/args.cc",
        "src/errors.cc",
        "src/constants.cc",
        "src/xattr.cc",
        "src/nodes.cc",
        "src/mount.cc",
        "src/fsmount.cc",
        "src/kmsg.cc",
        "src/flock.cc",
        "src/copy-data.cc",
        "src/copy-fd.cc",
        "src/copy-entries.cc",
        "src/stat-snapshot.cc",
        "src/utimens.cc",
        "src/read-file-at.cc",
        "src/mount-root.cc",
        "src/release-buffer.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker terminated while a call of it throws (an
      # aborted import ends its workers) cannot take the exception; without this, node-addon-api
      # throws again from its catch block, and std::terminate aborts the whole process
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
