# 重庆人社自助服务一体机 — 界面文字（简体中文，默认语言）

app-title = 重庆人社自助服务

## 待机页
attract-title = 人社自助服务
attract-subtitle = 请插入社会保障卡，或点击屏幕选择服务
attract-card-hint = 芯片朝上，插入下方读卡口
attract-start = 点击开始
attract-open-hours = 24小时自助服务 · 免排队

## 页头
language-switch = English
elderly-mode-on = 长辈模式
elderly-mode-off = 标准模式
device-card-reader = 读卡器
device-printer = 打印机
device-network = 网络
device-camera = 摄像头
device-voice = 语音
device-state-online = 正常
device-state-offline = 离线
device-state-no-device = 未连接
device-state-hardware-error = 故障
device-state-unknown = 检测中

## 首页
home-title = 请选择您要办理的服务
home-all-services = 全部服务
home-help = 帮助与人工服务
group-card-services = 社保卡服务
group-certification = 资格认证
group-queries-and-proofs = 查询、证明与服务网点

service-card-status = 社保卡状态
service-card-status-hint = 查询卡片是否正常
service-card-activation = 社保卡启用
service-card-activation-hint = 启用社会保障功能
service-pin-change = 修改密码
service-pin-change-hint = 修改服务密码
service-loss-report = 临时挂失
service-loss-report-hint = 卡丢了，先挂失
service-pension-certification = 养老资格认证
service-pension-certification-hint = 每年一次，刷脸认证
service-proxy-certification = 帮亲人认证
service-proxy-certification-hint = 为家里老人代办认证
service-enrollment-query = 参保信息
service-enrollment-query-hint = 查看参保险种
service-contribution-query = 缴费记录
service-contribution-query-hint = 养老保险缴费明细
service-pension-payment-query = 养老金发放
service-pension-payment-query-hint = 查看每月到账
service-medical-account-query = 医保账户
service-medical-account-query-hint = 余额和消费记录
service-proof-print = 打印证明
service-proof-print-hint = 参保证明、权益记录
service-service-point-finder = 附近服务网点
service-service-point-finder-hint = 找最近的办事地点

## 导航
nav-back = 返回
nav-home = 首页

## 帮助
help-title = 帮助与人工服务
help-hotline-label = 人社服务热线（免费咨询）
help-hotline = 12333
help-counter-title = 到人工窗口办理
help-counter-body = 本机不能办理的业务，请到就近的人社服务网点，工作人员会帮您办理。
help-counter-hours = 人工窗口：工作日 9:00–12:00，13:30–17:00
help-find-counter = 查找最近的服务网点
help-card-stuck = 卡片取不出或机器故障，请拨打 12333 报修，并说明本机编号。
help-terminal-id = 本机编号：{ $id }

## 暂未开通的服务
unavailable-body = 本机暂时还不能办理这项业务。
unavailable-next = 您可以拨打 12333 咨询，或到最近的人社服务网点办理。
unavailable-find-counter = 查找最近的服务网点

## 空闲提醒
idle-title = 您还在办理吗？
idle-countdown = { $seconds } 秒后将返回首页，您的信息会被清除
idle-continue = 继续办理

## 社保卡
holder-greeting = 您好，{ $name }
holder-id = 社会保障号码 { $id }
take-card-title = 请取走您的社保卡
take-card-body = 卡片还在读卡口，请带走，以免遗失。
card-error-unreadable = 无法读取这张卡。请确认芯片朝上，取出后重新插入。
card-error-not-social-security = 这不是社会保障卡，请插入您的社保卡。
card-error-needs-sam = 本机暂时无法读取第三代社保卡的个人信息，请到人工窗口办理。
card-error-reader = 读卡器暂时无法使用，请拨打 12333 或到人工窗口办理。

## 演示模式
demo-tray-title = 演示卡槽
demo-tray-take-out = 取出卡片

## 查询
query-needs-card = 请先插入您的社会保障卡
query-loading = 正在查询，请稍候……
query-print = 打印凭证
print-printing = 正在打印，请稍候……
print-done = 打印完成，请取走凭证。
query-error-unavailable = 查询服务暂时无法连接。请稍后再试，或到人工窗口办理。
query-error-unknown = 结果正在确认中，请不要重复操作。可稍后再查，或拨打 12333。
query-error-not-found = 没有查到您的参保记录。请到人工窗口核实。
query-error-card-blocked = 您的社保卡已被锁定，请到人工窗口办理。
print-error-paper-out = 打印机缺纸，无法打印。您可以拍下屏幕上的信息，或到人工窗口打印。
print-error-unavailable = 打印机暂时无法使用。您可以拍下屏幕上的信息，或到人工窗口打印。
unit-yuan = { " " }元
row-name = 姓名
row-card-state = 社保卡状态
row-card-number = 社保卡号
card-state-active = 正常
card-state-not-activated = 未启用（封存）
card-state-temporarily-lost = 临时挂失
card-state-blocked = 已锁定
row-months-paid = 累计缴费月数
row-balance = 账户余额
row-year-in = 本年划入
row-year-out = 本年支出
insurance-pension = 基本养老保险
insurance-medical = 基本医疗保险
insurance-unemployment = 失业保险
insurance-work-injury = 工伤保险
insurance-other = 其他险种
insurance-status-paying = 正常缴费
insurance-status-receiving = 享受待遇
insurance-status-suspended = 暂停缴费
insurance-status-other = 其他
receipt-title = 重庆人社自助服务凭证
receipt-terminal = 终端
receipt-location = 地点
receipt-service = 业务
receipt-time = 时间
receipt-holder = 姓名
receipt-id = 证件号码
receipt-result = 结果
receipt-reference = 流水号
receipt-verify = 扫码验证
receipt-hotline = 咨询电话
receipt-result-ok = 查询成功
demo-receipt-title = 演示：打印机刚打印的凭证
demo-receipt-close = 关闭

## 服务网点查找
finder-search-hint = 点这里输入网点名称或拼音首字母（如 jfb）
finder-loading = 正在载入服务网点……
finder-no-results = 没有找到符合条件的网点。可以减少筛选条件，或换个拼音试试。
finder-walk = 步行约 { $value } 分钟
finder-km = { $value } 公里
finder-open-now = 营业中
finder-closed-now = 已休息
finder-open-24h = 24小时
filter-open-now = 现在营业
filter-24h = 24小时自助
filter-this-district = 本区县
filter-certification = 养老认证
filter-card-replacement = 社保卡补换
filter-card-activation = 社保卡激活
tier-city = 市级服务中心
tier-district = 区县服务中心
tier-town = 镇街服务站
tier-village = 村社区服务站
tier-partner-bank = 合作银行网点
tier-partner-post = 合作邮政网点
tier-partner-hospital = 合作医院网点
keyboard-backspace = 退格
keyboard-clear = 清空
keyboard-done = 完成
finder-address = 地址
finder-hours = 开放时间
finder-phone = 电话
finder-services = 可办业务
finder-photo = 网点照片
finder-scan-to-navigate = 用手机扫描二维码，即可导航到这里
finder-print-slip = 打印地址和二维码
finder-print-printing = 正在打印……
finder-print-printed = 打印完成，请取走纸条。
finder-print-failed = 打印机暂时无法使用，请用手机扫码或拍下地址。
hours-24h = 24小时开放
slip-title = 人社服务网点

## Queries by year and page
row-months-paid-this-year = 本年已缴月数
row-payments-this-year = 本年到账笔数
row-total-this-year = 本年到账合计
column-insurance = 险种
column-status = 状态
column-since = 参保时间
column-month = 月份
column-paid = 缴费
column-base = 缴费基数
column-personal = 个人缴纳
column-employer = 单位缴纳
column-amount = 金额（元）
column-date = 日期
column-place = 医院或药店
contribution-paid = 已缴
contribution-unpaid = 未缴
contribution-due = 待缴
query-year = 年度
query-year-of = { $year } 年
query-older-year = ‹ 上一年
query-newer-year = 下一年 ›
query-page = 第 { $page } 页
query-page-count = ，共 { $pages } 页
query-previous-page = ‹ 上一页
query-next-page = 下一页 ›
query-try-again = 再试一次
query-no-records = 这一年没有记录。
query-error-card-not-activated = 您的社保卡还没有启用社保功能。请先办理“社保卡启用”，或到人工窗口办理。
query-error-rejected = 业务系统没有办理这项查询：
print-error-cover-open = 打印机盖没有关好，无法打印。请联系工作人员，或拍下屏幕上的信息。

## Tiles that cannot start now
blocked-card-reader = 读卡器故障，暂停办理
blocked-printer = 打印机故障，暂停办理
blocked-back-end = 网络中断，暂停办理

## The attract page while the back end is unreachable
attract-offline = 网络暂时中断，需要联网的业务暂停办理。
attract-offline-still-works = 仍可使用：{ $services }

## Lists and opening hours
list-separator = 、
hours-day-range = 至
weekday-0 = 周一
weekday-1 = 周二
weekday-2 = 周三
weekday-3 = 周四
weekday-4 = 周五
weekday-5 = 周六
weekday-6 = 周日

## Card services: PIN pad, activation, PIN change, loss report and release
service-loss-release = 挂失解除
service-loss-release-hint = 卡找回了，解除挂失
pin-prompt-service = 请输入社保卡服务密码
pin-prompt-issuing = 请输入社保卡初始密码（发卡时的密码）
pin-prompt-old = 请输入原密码
pin-prompt-new = 请设置新密码（6位数字）
pin-prompt-repeat = 请再输入一次新密码
pin-wrong = 密码不正确，还可以再试 { $tries } 次。
pin-card-failed = 卡片没有响应，请确认卡已插好后重新输入。
pin-mismatch = 两次输入的新密码不一样，请重新设置。
pin-weak-length = 新密码须为6位数字。
pin-weak-same = 新密码不能是相同的数字（如 111111），请换一个。
pin-weak-sequence = 新密码不能是连续的数字（如 123456），请换一个。
pin-weak-unchanged = 新密码不能与原密码相同。
pin-entered = 已输入 { $count } 位
pin-delete = 删除
pin-confirm = 确认
pin-checking = 正在核对密码，请稍候…
pin-changing = 正在修改卡片密码，请不要拔卡…
pin-blocked = 密码已被锁定：输错次数太多，本机无法再使用这张卡的密码。请带上身份证和社保卡到人工窗口解锁。
help-line-nearest = 最近的人工窗口：{ $name }
help-line-hotline = 人社服务热线 12333（免费咨询）
card-service-needs-card = 请插入您的社会保障卡
card-service-needs-card-or-id-card = 请插入社会保障卡，或把身份证放在读卡区
card-service-id-card-hint = 身份证请平放在屏幕下方的身份证读卡区。
card-service-needs-id-card = 请把身份证平放在身份证读卡区
loss-report-choose = 卡不在身边也能挂失。请选择核实身份的方式：
loss-report-choose-hint = 有身份证的请放身份证；没带身份证的可以输入身份证号码和姓名。
loss-report-use-id-card = 用身份证核实
loss-report-type-id = 输入身份证号码
loss-report-id-prompt = 请输入您的身份证号码（18位）
loss-report-name-prompt = 请用拼音输入姓名，如 zhangxiaofang
loss-report-next = 下一步
loss-report-id-bad-character = X 只能是最后一位，请检查。
loss-report-id-bad-checksum = 号码有误，请检查是否输错了一位。
card-service-confirm-card-activation = 确认启用这张卡的社保功能？
card-service-confirm-loss-report = 确认挂失这张卡？挂失后这张卡暂时不能使用。
card-service-confirm-loss-release = 确认解除这张卡的挂失？
card-service-confirm-button = 确认办理
card-service-print = 打印凭条
card-service-looking-up = 正在查询，请稍候…
card-service-sending = 正在办理，请稍候，请不要拔卡…
card-unsuitable-blocked = 这张卡已停用，本机不能办理。请到人工窗口办理。
card-unsuitable-already-active = 这张卡的社保功能已经启用，不需要再启用。
card-unsuitable-lost = 这张卡已挂失。请先办理“挂失解除”，再使用。
card-unsuitable-already-lost = 这张卡已经挂失过了，不需要再挂失。找回卡后可办理“挂失解除”。
card-unsuitable-not-activated = 这张卡还没有启用，不需要挂失。请到人工窗口咨询。
card-unsuitable-not-lost = 这张卡没有挂失，不需要解除。
card-unsuitable-other = 这张卡现在不能办理这项业务，请到人工窗口咨询。
card-service-done-card-activation = 社保功能已启用，新密码已生效。
card-service-done-loss-report = 已临时挂失。找回卡后可在本机办理“挂失解除”。
card-service-done-loss-release = 已解除挂失，这张卡可以正常使用了。
card-service-done-pin-change = 密码已修改，请记住新密码。
card-service-being-confirmed = 结果正在确认中，请不要重复办理。稍后可在本机查询卡状态，或拨打 12333。
card-service-not-found = 没有找到与身份证号码和姓名相符的社保卡，请检查后重试。
farewell-interrupted = 上一位居民在办理中途取走了卡片，业务没有办理。
farewell-being-confirmed = 上一笔业务已提交，正在确认结果，请不要重复办理。
receipt-card-number = 社保卡号
receipt-card-state = 卡状态
receipt-verification-code = 验证码
pin-prompt-on-reader = 请在读卡器的密码键盘上输入服务密码，然后按“确认”键
demo-tray-id-title = 演示身份证
demo-tray-take-id = 取走身份证
receipt-result-done = 办理成功

## Pension certification (养老待遇资格认证)
blocked-camera = 摄像头故障，暂停办理
certification-pensioner = 认证人
certification-cycle = 认证年度
certification-due-by = 请在此日期前认证
certification-valid-until = 认证有效期至
certification-last = 上次认证
certification-last-none = 暂无记录
certification-due = 本年度尚未认证，现在就可以刷脸认证。
certification-already = 本年度已认证，无需再办。
certification-not-entitled = 没有查询到需要认证的养老待遇。如有疑问，请到窗口咨询或拨打12333。
certification-no-attempts = 今天的刷脸次数已用完，请明天再来，或到窗口办理。
certification-how = 请摘下帽子和口罩，正对屏幕，按提示做动作，大约需要10秒钟。
certification-how-relative = 请让老人本人正对屏幕，按提示做动作。您可以在旁边帮忙，但画面中只能有老人一人。
certification-start = 开始刷脸认证
certification-face = 请正对屏幕，把脸放进白色框内
certification-face-relative = 请让老人正对屏幕，把脸放进白色框内
certification-ready = 准备好了
certification-action-blink = 请眨眨眼
certification-action-open-mouth = 请张张嘴
certification-action-nod = 请点点头
certification-action-turn = 请左右摇摇头
certification-step = 第 { $number } 步
certification-steps = （共 { $count } 步）
certification-retake-too-dark = 光线太暗，请站到亮一点的地方，或让光照在脸上。
certification-retake-too-bright = 光线太亮，请避开直射的灯光或阳光。
certification-retake-blurred = 画面模糊，请站稳不动。
certification-retake-no-face = 没有看到人脸，请正对屏幕，靠近一点。
certification-camera-failed = 摄像头出现故障，请到窗口办理，或拨打12333。
certification-sending = 正在提交认证，请稍候……
certification-certified = 认证成功
certification-received = 认证信息已收到
certification-received-hint = 网络暂时中断，认证信息已保存在本机，联网后自动提交。结果将以短信通知您，也可拨打12333查询。
certification-rejected-not-live = 没有认证成功：没有看清您做的动作。
certification-rejected-no-match = 没有认证成功：照片与登记的照片对不上。
certification-rejected-poor-image = 没有认证成功：照片不够清楚。
certification-attempts-left = 今天还可以再试 { $count } 次。
certification-last-chance = 今天还可以再试最后 1 次。
certification-home-visit = 今天不能再刷脸了。请到窗口办理；行动不便的老人可拨打12333预约上门认证。
certification-relative-id-prompt = 请输入老人的身份证号码（18位）
certification-relative-name-prompt = 请用拼音输入老人的姓名，如 wangjianguo
receipt-certification-cycle = 认证年度
receipt-pensioner = 认证人
receipt-helper = 代办人
receipt-certified-until = 有效期至
receipt-result-certified = 认证成功
receipt-result-received = 已受理，结果短信通知
receipt-result-not-certified = 未认证成功

## 亲情代办 (proxy bindings)
service-proxy-bindings = 亲情代办
service-proxy-bindings-hint = 绑定可帮您认证的亲属
proxies-of = { $name } 已绑定的代办亲属：
proxies-none = 还没有绑定代办亲属。绑定后，亲属可以在自助机或手机上帮您认证。
proxies-remove = 解除
proxies-full = 最多可绑定4位亲属。要添加新的，请先解除一位。
proxies-add = 添加代办亲属
proxies-id-prompt = 请输入亲属的身份证号码（18位）
proxies-name-prompt = 请用拼音输入亲属的姓名，如 limingming
proxies-confirm-add = 确认绑定这位亲属为代办人？
proxies-confirm-remove = 确认解除这位亲属的代办？
proxies-added = 已绑定
proxies-removed = 已解除
proxies-count = 现在共绑定 { $count } 位亲属
proxies-reference = 流水号 { $reference }
receipt-proxy = 代办亲属
receipt-proxy-count = 已绑定人数
receipt-result-proxy-added = 绑定成功
receipt-result-proxy-removed = 解除成功
## 打印证明 (A4 proofs)
proof-checking-printer = 正在检查 A4 打印机，请稍候……
proof-choose-title = 请选择要打印的证明
proof-kind-enrollment = 参保证明
proof-kind-enrollment-hint = 证明您参加了哪些社会保险
proof-kind-contributions = 个人权益记录
proof-kind-contributions-hint = 按年度列出每月的缴费
proof-kind-receipt-copy = 参保证明（凭条版）
proof-contributions-needs-a4 = A4 打印机暂停服务，个人权益记录暂不能打印
proof-a4-down = A4 打印机暂停服务
proof-years-title = 请选择要打印的年度
proof-years-this = 今年（{ $year }年）
proof-years-last = 去年（{ $year }年）
proof-years-three = 近三年（{ $year }年至今）
proof-loading = 正在向人社系统申请证明，请稍候……
proof-preview-title = 请核对以下内容，无误后点“打印”
proof-preview-kind = 证明
proof-preview-name = 姓名
proof-preview-id = 身份证号
proof-preview-years = 年度
proof-preview-rows = 内容
proof-preview-pages = 页数
proof-rows = { $rows } 条记录
proof-pages = { $pages } 页（A4 纸）
proof-print = 打印
proof-print-again = 重新打印
proof-print-receipt-copy = 打印凭条版
proof-printing = 正在打印证明，请稍候……
proof-done-a4 = 打印完成，请从 A4 出纸口取走您的证明。
proof-done-receipt = 打印完成，请取走凭条。凭条版不是正式证明。
proof-verification-code = 验证码
proof-verify-hint = 任何人都可以扫描证明上的二维码，或凭验证码在网上核验这份证明。
proof-print-failed-help = 您可以再打印一次，或到人工窗口打印证明。
proof-receipt-copy-title = 参保证明（凭条版）
proof-receipt-copy-note = 凭条版，非正式证明
print-error-jammed = 打印机卡纸，无法打印。请联系工作人员。
print-error-unconfirmed = 打印机没有确认打印完成。请看看出纸口，如果没有证明，请联系工作人员。
blocked-a4-printer = A4 打印机暂停服务
blocked-a4-paper-out = A4 打印机缺纸，暂停办理
blocked-a4-jammed = A4 打印机卡纸，暂停办理
blocked-a4-cover-open = A4 打印机盖未关好，暂停办理

## Out of service: the terminal's records cannot be opened (both languages on one page).
out-of-service-title = 暂停服务
out-of-service-body = 本机暂时不能办理业务，已经办完的业务不受影响。请到人工窗口办理，或拨打热线咨询。
out-of-service-counter = 最近的人工窗口：{ $name }
out-of-service-district = 请到{ $district }的人社服务大厅办理
out-of-service-terminal = 报修时请说明本机编号：{ $id }
