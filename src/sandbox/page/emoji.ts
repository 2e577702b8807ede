// Emoji shortcodes the bot uses, plus a few common ones. Unknown ones stay as `:name:`.

export const EMOJI: Readonly<Record<string, string>> = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', inbox_tray: '📥',
  outbox_tray: '📤', hourglass_flowing_sand: '⏳', hourglass: '⌛', double_vertical_bar: '⏸️',
  arrow_forward: '▶️', arrows_counterclockwise: '🔄', octagonal_sign: '🛑', fast_forward: '⏩',
  rewind: '⏪', no_entry_sign: '🚫', no_entry: '⛔', boom: '💥', large_green_circle: '🟢',
  large_blue_circle: '🔵', large_yellow_circle: '🟡', large_orange_circle: '🟠', red_circle: '🔴',
  white_circle: '⚪', black_circle: '⚫', rocket: '🚀', bell: '🔔', no_bell: '🔕', clock3: '🕒',
  alarm_clock: '⏰', stopwatch: '⏱️', calendar: '📅', wastebasket: '🗑️', recycle: '♻️',
  lock: '🔒', unlock: '🔓', key: '🔑', eyes: '👀', tada: '🎉', '+1': '👍', thumbsup: '👍',
  '-1': '👎', thumbsdown: '👎', wave: '👋', point_right: '👉', information_source: 'ℹ️',
  question: '❓', exclamation: '❗', bangbang: '‼️', fire: '🔥', sparkles: '✨', link: '🔗',
  mag: '🔍', memo: '📝', package: '📦', gear: '⚙️', hammer_and_wrench: '🛠️', construction: '🚧',
  traffic_light: '🚥', vertical_traffic_light: '🚦', chart_with_upwards_trend: '📈',
  chart_with_downwards_trend: '📉', rotating_light: '🚨', ambulance: '🚑', zap: '⚡', bug: '🐛',
  leftwards_arrow_with_hook: '↩️', arrow_right: '➡️', arrow_left: '⬅️', arrow_up: '⬆️',
  arrow_down: '⬇️', twisted_rightwards_arrows: '🔀', repeat: '🔁', hand: '✋', raised_hand: '✋',
  ok_hand: '👌', thinking_face: '🤔', smile: '😄', slightly_smiling_face: '🙂', robot_face: '🤖',
  speech_balloon: '💬', thread: '🧵', test_tube: '🧪', label: '🏷️', pushpin: '📌',
  heavy_plus_sign: '➕', heavy_minus_sign: '➖', checkered_flag: '🏁', green_heart: '💚',
  broken_heart: '💔', skull: '💀', ghost: '👻', sunny: '☀️', zzz: '💤', new: '🆕', up: '🆙',
};
