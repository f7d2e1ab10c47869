{
  "variables": { "ringwire_asan%": "<!(node -p \"process.env.RINGWIRE_ASAN_BUILD || 0\")" },
  "targets": [
    {
      "target_name": "ringwire",
      "sources": [
        "src/addon.cc",
        "src/loop.cc",
        "src/loop_ready.cc",
        "src/loop_write.cc",
        "src/sockets.cc",
        "src/write_queue.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["OS=='linux'", { "sources": ["src/backend_epoll.cc", "src/accept_waiter_linux.cc", "src/loop_uring.cc", "src/uring.cc"], "libraries": ["-lpthread"] }],
        ["OS=='mac' or OS=='freebsd' or OS=='openbsd'", {
          "sources": ["src/backend_kqueue.cc", "src/accept_waiter_none.cc", "src/loop_uring_none.cc"],
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }],
        ["ringwire_asan==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address,undefined"],
          "xcode_settings": {
            "OTHER_CPLUSPLUSFLAGS": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"],
            "OTHER_LDFLAGS": ["-fsanitize=address,undefined"]
          }
        }]
      ]
    }
  ]
}
