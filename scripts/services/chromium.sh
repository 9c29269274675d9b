# Debian's Chromium and ChromeDriver, for the browser tests (never a browser download of a test tool).
chromium_install() { command -v chromium >/dev/null && command -v chromedriver >/dev/null || apt_install chromium chromium-driver; }
chromium_start() { chromium_install; }
chromium_stop() { :; }
chromium_status() {
  if command -v chromium >/dev/null; then echo "chromium: installed ($(chromium --version 2>/dev/null))"; else echo "chromium: missing"; return 1; fi
}
