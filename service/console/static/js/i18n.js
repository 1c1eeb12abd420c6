// The one dictionary of the console: Chinese by default, English on request.
const WORDS = {
  zh: {
    "app.title": "五社联动调度台",
    "nav.queue": "队列", "nav.map": "地图", "nav.runs": "批量调度",
    "nav.responders": "服务者", "nav.indicators": "联动指数",
    "signin.title": "调度员登录", "signin.key": "调度员密钥", "signin.submit": "登录",
    "signin.out": "退出", "signin.bad": "密钥无效或已过期", "signin.role": "此密钥不是调度员密钥",
    "live.on": "实时", "live.off": "连接中断，重连中",
    "common.all": "全部", "common.community": "社区", "common.grid": "网格", "common.street": "街道",
    "common.close": "关闭", "common.none": "无", "common.save": "保存", "common.loading": "加载中…",
    "common.day": "日期", "common.from": "自", "common.to": "至", "common.scope": "范围",
    "common.refresh": "刷新",
    "queue.title": "待处理需求", "queue.count": "条",
    "col.urgency": "紧急程度", "col.category": "类别", "col.grid": "网格", "col.zone": "管控区",
    "col.state": "状态", "col.age": "等待", "col.window": "服务时间", "col.responders": "服务者",
    "col.request": "需求", "col.reason": "原因", "col.remedy": "如何改变", "col.start": "开始",
    "col.travel": "路程(分)", "col.name": "姓名", "col.kind": "类型",
    "col.qualifications": "资质", "col.groups": "分组", "col.tasks": "今日任务",
    "col.minutes": "今日分钟", "col.slots": "名额", "col.active": "在岗",
    "col.available": "当日可用", "col.message": "说明", "col.what": "变化",
    "urgency.emergency": "紧急", "urgency.urgent": "较急", "urgency.normal": "一般",
    "state.submitted": "待派", "state.offered": "已派单", "state.accepted": "已接单",
    "state.in_progress": "服务中", "state.completed": "已完成", "state.declined": "被拒",
    "state.cancelled": "已取消", "state.expired": "已过期", "state.timed_out": "超时",
    "state.queued": "排队", "state.running": "运行中", "state.succeeded": "完成",
    "state.failed": "失败", "state.committed": "已提交",
    "kind.volunteer": "志愿者", "kind.social_worker": "社工", "kind.organization": "社会组织",
    "kind.community_staff": "社区工作者",
    "map.title": "地图", "map.legend": "图例", "map.reset": "复位", "map.requests": "需求",
    "map.responders": "服务者", "map.assignments": "派单连线", "map.plan": "方案连线",
    "map.zone": "管控区", "map.hint": "拖动平移，滚轮缩放，点击查看详情",
    "detail.request": "需求详情", "detail.responder": "服务者详情", "detail.grid": "网格",
    "detail.assign": "指派 / 改派", "detail.assign.go": "指派", "detail.unassign": "撤回派单",
    "detail.reason": "原因", "detail.current": "当前服务者", "detail.choose": "选择服务者",
    "detail.warnings": "提醒", "detail.refused": "被拒绝", "detail.done": "已指派",
    "detail.unassigned": "已撤回", "detail.distance": "距离", "detail.load": "今日负荷",
    "detail.resident": "居民", "detail.quantity": "数量", "detail.cost": "费用(元)",
    "detail.duration": "时长(分)",
    "runs.title": "批量调度", "runs.start": "开始预览", "runs.limit": "时限(秒)",
    "runs.progress": "进度", "runs.phase": "阶段", "runs.considered": "已考虑需求",
    "runs.objective": "目标值", "runs.bound": "界", "runs.plan": "方案",
    "runs.assigned": "已安排", "runs.unassigned": "未安排", "runs.commit": "提交方案",
    "runs.discard": "放弃", "runs.committed": "已提交：派出", "runs.discarded": "已放弃此方案",
    "runs.changes": "提交时的变化", "runs.recent": "待决定的预览", "runs.open": "查看",
    "runs.stopped": "已停止", "runs.exports": "下载", "runs.sheets": "路线单（打印）",
    "resp.title": "服务者", "resp.edit": "可用性", "resp.saved": "已保存",
    "resp.today_off": "今日不可用", "resp.today_on": "今日可用",
    "ind.title": "联动指数", "ind.share": "需求满足率", "ind.offer": "派单时间中位数(分)",
    "ind.completion": "完成时间中位数(分)", "ind.hours": "志愿服务时长(小时)",
    "ind.volunteers": "参与志愿者", "ind.funds": "慈善资金支出(元)", "ind.total": "需求总数",
    "ind.by_category": "按类别的覆盖", "ind.by_grid": "按网格的覆盖", "ind.by_day": "每日需求",
    "ind.by_fund": "各基金支出", "ind.met": "已满足", "ind.created": "新增",
    "ind.show": "查看",
    "nav.zones": "管控区", "nav.mode": "平时/战时", "nav.import": "导入",
    "common.cancel": "取消",
    "detail.zone": "管控区详情",
    "zone.sealed": "封控区", "zone.controlled": "管控区", "zone.precaution": "防范区",
    "zones.title": "封控、管控、防范区", "zones.name": "名称", "zones.status": "等级", "zones.period": "期限",
    "zones.force": "生效", "zones.in_force": "生效中", "zones.not_in_force": "未生效",
    "zones.open_ended": "未定", "zones.requests": "区内需求", "zones.none": "暂无管控区",
    "zones.new": "划定新区域", "zones.from": "开始(空为即刻)", "zones.until": "结束(可空)",
    "zones.draw": "在地图上绘制", "zones.draw_intro": "填写名称与等级，点“在地图上绘制”，再在下方地图上依次点击各顶点。",
    "zones.draw_hint": "依次点击各顶点，点击第一个顶点闭合；闭合后保存。",
    "zones.corners": "顶点", "zones.closed": "已闭合", "zones.undo": "撤销", "zones.save": "保存区域",
    "zones.incomplete": "需要名称和至少三个顶点的闭合区域", "zones.saved": "已划定",
    "zones.changed": "已变更", "zones.lift": "解除", "zones.confirm_lift": "确认解除",
    "zones.lifted": "已解除", "zones.retag.requests": "重新标记的需求",
    "zones.retag.residents": "重新标记的居民",
    "mode.title": "平时 / 战时", "mode.banner": "战时 / Emergency mode",
    "mode.explain": "战时：调动应急队伍，采用战时日上限，按规则提升需求紧急程度；恢复平时后需求回到原紧急程度。",
    "mode.peacetime": "平时", "mode.emergency": "战时", "mode.since": "自",
    "mode.reason": "切换原因(必填)", "mode.to_emergency": "切换到战时", "mode.to_peacetime": "恢复平时",
    "mode.street_to_emergency": "全街道切换到战时", "mode.street_to_peacetime": "全街道恢复平时",
    "mode.confirm_text": "确认切换", "mode.confirm": "确认", "mode.need_reason": "请填写切换原因",
    "mode.reprioritised": "紧急程度改变的需求", "mode.rules": "升级规则",
    "mode.categories": "类别", "mode.tags": "居民标签", "mode.keywords": "关键词",
    "import.title": "批量导入需求", "import.file": "文件(CSV 或 GeoJSON)", "import.go": "导入",
    "import.pick": "请先选择文件", "import.stored": "已存入", "import.unchanged": "未变(此前已导入)",
    "import.rejected": "被拒绝的行", "import.none_rejected": "没有被拒绝的行",
    "import.note": "导入的需求不会逐条自动派单，请发起批量调度。",
    "import.columns": "每行一个需求，以 external_id 区分；列：external_id, category_code, lon, lat, window_start, window_end, urgency, quantity, duration_min, cost_fen, resident_id, grid_id, description, required_qualifications, max_distance_m, zone_id。同一文件重复导入不会重复存入。",
    "col.row": "行", "col.field": "字段",
    "error.generic": "出错了",
    // Routes runs and pickup points.
    "runs.kind": "类型", "runkind.assign": "分配", "runkind.routes": "配送路线",
    "runs.routes": "配送路线", "runs.minutes": "分钟",
    "stop.pickup": "取货", "stop.deliver": "送达", "stop.gate_drop": "送至门岗",
    "stop.gate_pickup": "门岗接货", "stop.door": "门口",
    "map.pickup": "取货点", "map.gate": "门岗(交接点)", "pickup.hours": "营业", "pickup.stock": "库存",
  },
  en: {
    "app.title": "Five-society dispatch console",
    "nav.queue": "Queue", "nav.map": "Map", "nav.runs": "Batch runs",
    "nav.responders": "Responders", "nav.indicators": "Linkage index",
    "signin.title": "Dispatcher sign-in", "signin.key": "Dispatcher key", "signin.submit": "Sign in",
    "signin.out": "Sign out", "signin.bad": "The key is not valid or has expired",
    "signin.role": "This key is not a dispatcher's key",
    "live.on": "Live", "live.off": "Disconnected, reconnecting",
    "common.all": "All", "common.community": "Community", "common.grid": "Grid",
    "common.street": "Street", "common.close": "Close", "common.none": "None",
    "common.save": "Save", "common.loading": "Loading…", "common.day": "Day",
    "common.from": "From", "common.to": "To", "common.scope": "Scope", "common.refresh": "Refresh",
    "queue.title": "Open requests", "queue.count": "shown",
    "col.urgency": "Urgency", "col.category": "Category", "col.grid": "Grid", "col.zone": "Zone",
    "col.state": "State", "col.age": "Waiting", "col.window": "Window",
    "col.responders": "Responders", "col.request": "Request", "col.reason": "Reason",
    "col.remedy": "What would change it", "col.start": "Start", "col.travel": "Travel (min)",
    "col.name": "Name", "col.kind": "Kind", "col.qualifications": "Qualifications",
    "col.groups": "Groups", "col.tasks": "Tasks today", "col.minutes": "Minutes today",
    "col.slots": "Slots", "col.active": "Active", "col.available": "Available that day",
    "col.message": "Message", "col.what": "Change",
    "urgency.emergency": "Emergency", "urgency.urgent": "Urgent", "urgency.normal": "Normal",
    "state.submitted": "Submitted", "state.offered": "Offered", "state.accepted": "Accepted",
    "state.in_progress": "In progress", "state.completed": "Completed",
    "state.declined": "Declined", "state.cancelled": "Cancelled", "state.expired": "Expired",
    "state.timed_out": "Timed out", "state.queued": "Queued", "state.running": "Running",
    "state.succeeded": "Succeeded", "state.failed": "Failed", "state.committed": "Committed",
    "kind.volunteer": "Volunteer", "kind.social_worker": "Social worker",
    "kind.organization": "Organization", "kind.community_staff": "Community staff",
    "map.title": "Map", "map.legend": "Legend", "map.reset": "Reset", "map.requests": "Requests",
    "map.responders": "Responders", "map.assignments": "Assignments", "map.plan": "Plan",
    "map.zone": "Zone", "map.hint": "Drag to pan, wheel to zoom, click for details",
    "detail.request": "Request", "detail.responder": "Responder", "detail.grid": "Grid",
    "detail.assign": "Assign / reassign", "detail.assign.go": "Assign",
    "detail.unassign": "Withdraw offers", "detail.reason": "Reason",
    "detail.current": "Current responders", "detail.choose": "Choose a responder",
    "detail.warnings": "Warnings", "detail.refused": "Refused", "detail.done": "Assigned",
    "detail.unassigned": "Withdrawn", "detail.distance": "Distance",
    "detail.load": "Load today", "detail.resident": "Resident", "detail.quantity": "Quantity",
    "detail.cost": "Cost (yuan)", "detail.duration": "Duration (min)",
    "runs.title": "Batch runs", "runs.start": "Start preview", "runs.limit": "Time limit (s)",
    "runs.progress": "Progress", "runs.phase": "Phase", "runs.considered": "Requests considered",
    "runs.objective": "Objective", "runs.bound": "Bound", "runs.plan": "Plan",
    "runs.assigned": "Assigned", "runs.unassigned": "Unassigned", "runs.commit": "Commit plan",
    "runs.discard": "Discard", "runs.committed": "Committed: offers made",
    "runs.discarded": "Plan discarded", "runs.changes": "Changes at commit",
    "runs.recent": "Previews awaiting a decision", "runs.open": "Open", "runs.stopped": "Stopped",
    "runs.exports": "Download", "runs.sheets": "Route sheets (print)",
    "resp.title": "Responders", "resp.edit": "Availability", "resp.saved": "Saved",
    "resp.today_off": "Unavailable that day", "resp.today_on": "Available that day",
    "ind.title": "Linkage index", "ind.share": "Share of requests met",
    "ind.offer": "Median minutes to offer", "ind.completion": "Median minutes to completion",
    "ind.hours": "Volunteer hours", "ind.volunteers": "Active volunteers",
    "ind.funds": "Fund spending (yuan)", "ind.total": "Requests",
    "ind.by_category": "Coverage by category", "ind.by_grid": "Coverage by grid",
    "ind.by_day": "Requests per day", "ind.by_fund": "Spending by fund", "ind.met": "Met",
    "ind.created": "Created", "ind.show": "Show",
    "nav.zones": "Zones", "nav.mode": "Peacetime/emergency", "nav.import": "Import",
    "common.cancel": "Cancel",
    "detail.zone": "Zone",
    "zone.sealed": "Sealed", "zone.controlled": "Controlled", "zone.precaution": "Precaution",
    "zones.title": "Lockdown zones", "zones.name": "Name", "zones.status": "Status", "zones.period": "Period",
    "zones.force": "In force", "zones.in_force": "In force", "zones.not_in_force": "Not in force",
    "zones.open_ended": "open-ended", "zones.requests": "Requests inside", "zones.none": "No zones",
    "zones.new": "Draw a new zone", "zones.from": "From (empty: now)", "zones.until": "Until (optional)",
    "zones.draw": "Draw on the map", "zones.draw_intro": "Give a name and a status, press “Draw on the map”, then click the corners on the map below.",
    "zones.draw_hint": "Click the corners one by one; click the first corner to close the ring, then save.",
    "zones.corners": "Corners", "zones.closed": "ring closed", "zones.undo": "Undo", "zones.save": "Save zone",
    "zones.incomplete": "A zone needs a name and a closed ring of at least three corners",
    "zones.saved": "Zone drawn", "zones.changed": "Zone changed", "zones.lift": "Lift",
    "zones.confirm_lift": "Confirm lift", "zones.lifted": "Zone lifted",
    "zones.retag.requests": "Requests re-tagged", "zones.retag.residents": "Residents re-tagged",
    "mode.title": "Peacetime / emergency", "mode.banner": "战时 / Emergency mode",
    "mode.explain": "Emergency: the emergency team is dispatched, emergency daily caps apply and the rules raise urgencies; back in peacetime every request returns to the urgency it was filed with.",
    "mode.peacetime": "Peacetime", "mode.emergency": "Emergency", "mode.since": "since",
    "mode.reason": "Reason for the switch (required)", "mode.to_emergency": "Switch to emergency",
    "mode.street_to_emergency": "Switch the whole street to emergency",
    "mode.street_to_peacetime": "Whole street back to peacetime",
    "mode.to_peacetime": "Back to peacetime", "mode.confirm_text": "Confirm the switch:",
    "mode.confirm": "Confirm", "mode.need_reason": "Give the reason for the switch",
    "mode.reprioritised": "Requests re-prioritised", "mode.rules": "Urgency rule",
    "mode.categories": "categories", "mode.tags": "resident tags", "mode.keywords": "keywords",
    "import.title": "Bulk intake", "import.file": "File (CSV or GeoJSON)", "import.go": "Import",
    "import.pick": "Choose a file first", "import.stored": "Stored",
    "import.unchanged": "Unchanged (imported before)", "import.rejected": "Rejected rows",
    "import.none_rejected": "No row was rejected",
    "import.note": "Imported requests are not matched one by one: start a batch run for them.",
    "import.columns": "One row per need, keyed by external_id; columns: external_id, category_code, lon, lat, window_start, window_end, urgency, quantity, duration_min, cost_fen, resident_id, grid_id, description, required_qualifications, max_distance_m, zone_id. Sending the same file again stores nothing twice.",
    "col.row": "Row", "col.field": "Field",
    "error.generic": "Something went wrong",
    // Routes runs and pickup points.
    "runs.kind": "Kind", "runkind.assign": "Assign", "runkind.routes": "Delivery routes",
    "runs.routes": "Delivery routes", "runs.minutes": "min",
    "stop.pickup": "Pick up", "stop.deliver": "Deliver", "stop.gate_drop": "Drop at gate",
    "stop.gate_pickup": "Collect at gate", "stop.door": "Door",
    "map.pickup": "Pickup point", "map.gate": "Gate (handoff)", "pickup.hours": "open", "pickup.stock": "stock",
  },
};

const STORE = "wushe.console.lang";
let lang = localStorage.getItem(STORE) === "en" ? "en" : "zh";

export function t(key) {
  return WORDS[lang][key] ?? WORDS.zh[key] ?? key;
}

// A value from the API shown in the reader's language when the dictionary knows it.
export function label(prefix, value) {
  if (value === null || value === undefined) return "—";
  const key = `${prefix}.${value}`;
  return key in WORDS[lang] ? WORDS[lang][key] : String(value);
}

export function language() {
  return lang;
}

export function setLanguage(next) {
  lang = next === "en" ? "en" : "zh";
  localStorage.setItem(STORE, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

// Static text in the page carries data-i18n; views re-render themselves.
export function translateStatic(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
}

// Times are shown in the service's zone (the command centre's), whatever the browser's is.
export function when(iso, { time = true, date = true } = {}) {
  if (!iso) return "—";
  const options = { timeZone: "Asia/Shanghai", hour12: false };
  if (date) Object.assign(options, { month: "2-digit", day: "2-digit" });
  if (time) Object.assign(options, { hour: "2-digit", minute: "2-digit" });
  return new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", options);
}
