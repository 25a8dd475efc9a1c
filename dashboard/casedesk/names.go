package casedesk

import (
	"fmt"

	"github.com/pscm/pscm/internal/cases"
)

// The words citizens and managers read, Vietnamese first; the API carries
// the Vietnamese, the codes beside them are the English.

func stateVI(s cases.State) string {
	switch s {
	case cases.StateReceived:
		return "Đã tiếp nhận"
	case cases.StateAcknowledged:
		return "Đã thụ lý"
	case cases.StateAssigned:
		return "Đang xử lý"
	case cases.StateAnswered:
		return "Đã trả lời"
	case cases.StateClosed:
		return "Đã kết thúc"
	case cases.StateTransferred:
		return "Đã chuyển cơ quan có thẩm quyền"
	case cases.StateRejected:
		return "Không thụ lý"
	}
	return string(s)
}

func channelVI(c cases.Channel) string {
	switch c {
	case cases.ChannelKiosk:
		return "Máy tại Trung tâm"
	case cases.ChannelInPerson:
		return "Trực tiếp"
	case cases.ChannelPhone:
		return "Điện thoại"
	case cases.ChannelLetter:
		return "Thư, đơn"
	case cases.ChannelZalo:
		return "Zalo"
	case cases.ChannelHotline:
		return "Đường dây nóng"
	case cases.ChannelReception:
		return "Tiếp công dân"
	case cases.ChannelProvince:
		return "Hệ thống của tỉnh"
	}
	return string(c)
}

// standingVI says a standing with its days: "Còn 3 ngày làm việc",
// "Quá hạn 2 ngày làm việc".
func standingVI(st cases.Status) string {
	switch st.Standing {
	case cases.AtRisk, cases.OnTime:
		if st.DaysLeft > 0 || st.Standing == cases.AtRisk {
			return fmt.Sprintf("Còn %d ngày làm việc", st.DaysLeft)
		}
		return "Trong hạn"
	case cases.Overdue:
		return fmt.Sprintf("Quá hạn %d ngày làm việc", st.DaysLeft)
	case cases.Late:
		return "Đã xử lý trễ hạn"
	case Unknown:
		return "Chưa rõ: lịch làm việc chưa có năm này"
	}
	return string(st.Standing)
}
