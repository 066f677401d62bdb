package xrpc

import "github.com/hearth-pds/hearth/identity/account"

func (s *Server) routes() {
	s.methods = map[string]method{}
	const (
		srv = "com.atproto.server."
		rp  = "com.atproto.repo."
		sy  = "com.atproto.sync."
		id  = "com.atproto.identity."
	)
	s.handle(srv+"describeServer", query, authNone, s.describe)
	s.handle(srv+"createAccount", procedure, authNone, s.createAccount)
	s.handle(srv+"createSession", procedure, authNone, s.createSession)
	s.handle(srv+"getSession", query, authAccess, s.getSession)
	s.handle(srv+"refreshSession", procedure, authRefresh, s.refreshSession)
	s.handle(srv+"deleteSession", procedure, authSignOut, s.deleteSession)
	s.handle(srv+"createAppPassword", procedure, authFull, s.createAppPassword)
	s.handle(srv+"listAppPasswords", query, authFull, s.listAppPasswords)
	s.handle(srv+"revokeAppPassword", procedure, authFull, s.revokeAppPassword)
	s.handle(srv+"checkAccountStatus", query, authAccess, s.checkAccountStatus)
	s.handle(srv+"requestEmailConfirmation", procedure, authAccess, s.requestEmailConfirmation)
	s.handle(srv+"confirmEmail", procedure, authAccess, s.confirmEmail)
	s.handle(srv+"requestEmailUpdate", procedure, authFull, s.requestEmailUpdate)
	s.handle(srv+"updateEmail", procedure, authFull, s.updateEmail)
	s.handle(srv+"requestPasswordReset", procedure, authNone, s.requestPasswordReset)
	s.handle(srv+"resetPassword", procedure, authNone, s.resetPassword)
	s.handle(srv+"requestAccountDelete", procedure, authFull, s.requestAccountDelete)
	s.handle(srv+"deleteAccount", procedure, authNone, s.deleteAccount)
	s.handle(srv+"deactivateAccount", procedure, authFull, s.deactivateAccount)
	s.handle(srv+"activateAccount", procedure, authFull, s.activateAccount)
	s.handle(srv+"createInviteCode", procedure, authAdmin, s.createInviteCodes)
	s.handle(srv+"createInviteCodes", procedure, authAdmin, s.createInviteCodes)

	s.handle(rp+"createRecord", procedure, authAccess, s.createRecord)
	s.handle(rp+"putRecord", procedure, authAccess, s.putRecord)
	s.handle(rp+"deleteRecord", procedure, authAccess, s.deleteRecord)
	s.handle(rp+"applyWrites", procedure, authAccess, s.applyWrites)
	s.handle(rp+"getRecord", query, authOptional, s.getRecord)
	s.handle(rp+"listRecords", query, authOptional, s.listRecords)
	s.handle(rp+"describeRepo", query, authOptional, s.describeRepo)
	for _, m := range []string{"createRecord", "putRecord"} {
		s.setLimit(rp+m, maxWriteBody)
	}
	s.setLimit(rp+"applyWrites", maxBatchBody)

	s.handle(sy+"getRepo", query, authNone, s.syncGetRepo)
	s.handle(sy+"getLatestCommit", query, authNone, s.syncGetLatestCommit)
	s.handle(sy+"getRecord", query, authNone, s.syncGetRecord)
	s.handle(sy+"getBlocks", query, authNone, s.syncGetBlocks)
	s.handle(sy+"getRepoStatus", query, authNone, s.syncGetRepoStatus)
	s.handle(sy+"listRepos", query, authNone, s.syncListRepos)

	s.handle(rp+"uploadBlob", procedure, authAccessOrService, s.uploadBlob)
	s.handle(rp+"importRepo", procedure, authAccess, s.importRepo)
	s.setLimit(rp+"importRepo", account.MaxImport)
	s.handle(srv+"reserveSigningKey", procedure, authNone, s.reserveSigningKey)
	s.handle(id+"requestPlcOperationSignature", procedure, authFull, s.requestPlcOperationSignature)
	s.handle(id+"signPlcOperation", procedure, authFull, s.signPlcOperation)
	s.handle(id+"submitPlcOperation", procedure, authFull, s.submitPlcOperation)
	s.setLimit(rp+"uploadBlob", s.blobs.Limit+1)
	s.handle(rp+"listMissingBlobs", query, authAccess, s.listMissingBlobs)
	s.handle(sy+"getBlob", query, authNone, s.getBlob)
	s.handle(sy+"listBlobs", query, authNone, s.listBlobs)
	const ad = "com.atproto.admin."
	s.handle(ad+"getAccountInfo", query, authAdmin, s.getAccountInfo)
	s.handle(ad+"getAccountInfos", query, authAdmin, s.getAccountInfos)
	s.handle(ad+"getSubjectStatus", query, authAdmin, s.getSubjectStatus)
	s.handle(ad+"updateSubjectStatus", procedure, authAdmin, s.updateSubjectStatus)
	s.handle(ad+"deleteAccount", procedure, authAdmin, s.adminDeleteAccount)
	s.handle(ad+"updateAccountHandle", procedure, authAdmin, s.updateAccountHandle)
	s.handle(ad+"updateAccountEmail", procedure, authAdmin, s.updateAccountEmail)
	s.handle(ad+"updateAccountPassword", procedure, authAdmin, s.updateAccountPassword)
	s.handle(ad+"sendEmail", procedure, authAdmin, s.sendEmail)
	s.handle(ad+"getInviteCodes", query, authAdmin, s.getInviteCodes)
	s.handle(ad+"disableInviteCodes", procedure, authAdmin, s.disableInviteCodes)
	s.handle(ad+"disableAccountInvites", procedure, authAdmin, s.setAccountInvites(true))
	s.handle(ad+"enableAccountInvites", procedure, authAdmin, s.setAccountInvites(false))
	s.handle(srv+"getAccountInviteCodes", query, authFull, s.getAccountInviteCodes)
	s.handle("dev.hearth.admin.purgeBlob", procedure, authAdmin, s.purgeBlob)

	s.handle(srv+"getServiceAuth", query, authAccess, s.getServiceAuth)
	s.handle("app.bsky.actor.getPreferences", query, authAccess, s.getPreferences)
	s.handle("app.bsky.actor.putPreferences", procedure, authAccess, s.putPreferences)

	s.handle(id+"resolveHandle", query, authNone, s.resolveHandle)
	s.handle(id+"updateHandle", procedure, authAccess, s.updateHandle)
	s.handle(id+"getRecommendedDidCredentials", query, authAccess, s.getRecommendedDidCredentials)
}
