// ESLint for the dashboard's browser code (static/invoker, ES modules served as they are) and
// the Node tests of its pure modules (tests/js). `./dev test` runs it (scripts/dev/node.sh).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "data/", "**/vendor/", "static/**/*.min.js"] },
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.node },
  },
  {
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "prefer-const": "error",
      "no-var": "error",
      eqeqeq: ["error", "smart"],
      "no-implicit-globals": "error",
      "no-shadow": "off",
    },
  },
];
